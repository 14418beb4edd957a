// A linear constraint in pixel space, A(D(x0)) = y (ours, method.md decision 1): the pixel-space
// error r = A^T (y - A(D(x0))) is pulled back to latent space forward-only through the encoder
// (pull_back.ts). Serves super-resolution, deblurring, colourisation, pixel-space inpainting and
// any user-supplied operator. Its exact gradient (for method 'dps') pulls the same r back through
// the decoder's VJP instead: -grad_{x0} 1/2 ||y - A(D(x0))||^2 = D^T A^T (y - A(D(x0))); with
// pullBack 'decoder' (ours, issue 13) Newton's direction is that gradient too — J is still taken
// forward-only through the UNet, only the VAE is backpropagated (bench/RESULTS.md "Pull-back"). The
// authors' super-resolution (official) takes -grad_{x0} ||y - A(D(x0))||_2, the same direction
// divided by the residual's norm, a per-sample scalar that DPS's max-normalisation removes.
import type { GpuContext } from '../../gpu/context.js';
import type { GpuTensor } from '../../gpu/tensor.js';
import { sub } from '../../kernels/elementwise.js';
import { maxAbsPerSample } from '../../kernels/reduce.js';
import type { Constraint, TraceFn } from './constraint.js';
import type { LatentCodec } from './latent_codec.js';
import type { PixelOperator } from './pixel_operators.js';
import { pullBack } from './pull_back.js';

/** How a pixel-space error reaches latent space: the encoder's finite difference (method.md decision 1) or the decoder's VJP. */
export type PullBackVia = 'encoder' | 'decoder';

export class PixelLinearConstraint implements Constraint {
  /** present when the codec has a decoder VJP: D^T A^T (y - A(D(x0))) */
  readonly gradient?: (ctx: GpuContext, x0: GpuTensor, trace?: TraceFn) => Promise<GpuTensor>;

  constructor(readonly name: string, readonly op: PixelOperator, readonly y: GpuTensor,
              readonly codec: LatentCodec, readonly h = 0.005, readonly pullBackVia: PullBackVia = 'encoder') {
    const vjp = codec.decodeGradient;
    if (pullBackVia === 'decoder' && !vjp) throw new Error(`${name}: pull-back 'decoder' needs the VAE decoder's VJP, which this codec has not`);
    if (vjp) {
      // D^T r with r = A^T (y - A(D(x0))) from the VJP's own decode of x0 (one decode, not two)
      this.gradient = (ctx, x0, trace) => ctx.scope(() => vjp(ctx, x0, async (xd) => {
        const r = this.pixelResidual(ctx, xd);
        if (trace) { await trace('Dx0', xd); await trace('r', r); }
        return r;
      }));
    }
  }

  async direction(ctx: GpuContext, x0: GpuTensor, trace?: TraceFn): Promise<GpuTensor> {
    if (this.pullBackVia === 'decoder') return this.gradient!(ctx, x0, trace);   // D^T A^T (y - A(D(x0)))
    return ctx.scope(async () => {
      const xd = await this.codec.decode(ctx, x0);                // D(x0)
      const r = this.pixelResidual(ctx, xd);                      // A^T (y - A(D(x0)))
      if (trace) { await trace('Dx0', xd); await trace('r', r); }
      return pullBack(ctx, this.codec, xd, r, this.h, { trace });
    });
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
