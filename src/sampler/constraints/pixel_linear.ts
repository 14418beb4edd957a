// A linear constraint in pixel space, A(D(x0)) = y, pulled back to latent space forward-only
// (method.md, decision 1): with r = A^T (y - A(D(x0))) and delta_p = h / max|r|,
//   d = (E(D(x0) + delta_p r) - E(D(x0))) / delta_p        (encoder means, scaled latents)
// The encoder approximately inverts the decoder, so this is the inexact-Newton idea applied to
// the VAE. Both encoder inputs are known together: one batch of two. No backward kernels.
import type { GpuContext } from '../../gpu/context.js';
import type { GpuTensor } from '../../gpu/tensor.js';
import { axpbyScaled } from '../../kernels/axpby_scaled.js';
import { sub } from '../../kernels/elementwise.js';
import { maxAbsPerSample } from '../../kernels/reduce.js';
import { concat0, slice0 } from '../../kernels/tensor_ops.js';
import type { Constraint } from './constraint.js';
import type { LatentCodec } from './latent_codec.js';
import type { PixelOperator } from './pixel_operators.js';

export type TraceFn = (name: string, t: GpuTensor) => Promise<void>;

export class PixelLinearConstraint implements Constraint {
  constructor(readonly name: string, readonly op: PixelOperator, readonly y: GpuTensor,
              readonly codec: LatentCodec, readonly h = 0.005) {}

  async direction(ctx: GpuContext, x0: GpuTensor, trace?: TraceFn): Promise<GpuTensor> {
    const N = x0.shape[0];
    const xd = await this.codec.decode(ctx, x0);                  // D(x0)
    const r = this.pixelResidual(ctx, xd);                        // A^T (y - A(D(x0)))
    const rNorm = maxAbsPerSample(ctx, r);                        // delta_p = h / max|r|
    const xdp = axpbyScaled(ctx, 1, xd, this.h, r, rNorm);        // D(x0) + delta_p r
    const pair = concat0(ctx, [xd, xdp]);
    const enc = await this.codec.encode(ctx, pair);               // one batch of two
    const eBase = slice0(ctx, enc, 0, N), ePert = slice0(ctx, enc, N, N);
    const diff = sub(ctx, ePert, eBase);
    const d = axpbyScaled(ctx, 0, diff, 1 / this.h, diff, rNorm, undefined, true); // / delta_p
    if (trace) {
      await trace('Dx0', xd); await trace('r', r); await trace('delta_p_inv', rNorm);
      await trace('enc_base', eBase); await trace('enc_pert', ePert);
    }
    ctx.release(xd, r, rNorm, xdp, pair, enc, eBase, ePert, diff);
    return d;
  }

  /** A^T (y - A(img)) */
  pixelResidual(ctx: GpuContext, img: GpuTensor): GpuTensor {
    const obs = this.op.forward(ctx, img);
    const res = sub(ctx, this.y, obs);
    const r = this.op.adjoint(ctx, res);
    ctx.release(obs, res);
    return r;
  }

  /** Per-sample max |A(D(x0)) - y| (reporting). */
  async residual(ctx: GpuContext, x0: GpuTensor): Promise<number[]> {
    const img = await this.codec.decode(ctx, x0);
    const obs = this.op.forward(ctx, img);
    const res = sub(ctx, obs, this.y);
    const m = await ctx.read(maxAbsPerSample(ctx, res));
    ctx.release(img, obs, res);
    return Array.from(m);
  }

  destroy(ctx: GpuContext): void {
    this.op.destroy?.(ctx);
    ctx.release(this.y);
  }
}
