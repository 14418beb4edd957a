// Style constraint (arXiv 2410.18804, "style"; method.md decision 3): move the decoded image down
// the gradient of the CLIP Gram-matrix loss L(img) = ||G_ref - G(img)||_F. Only the CLIP layers
// are differentiated (explicit backward, src/clip_vision); the pixel-space direction r = -dL/dimg
// is pulled back to latent space forward-only through the encoder, as pixel_linear.ts does for
// linear operators (decision 1):
//   delta_p = h / max|r|,   d = (E(D(x0) + delta_p r) - E(D(x0))) / delta_p     (one batch of two)
// At L = 0 the gradient is exactly 0, max|r| = 0, and axpby_scaled's s = 0 guard gives d = 0.
import type { ClipStyleLoss } from '../../clip_vision/style_loss.js';
import type { GpuContext } from '../../gpu/context.js';
import { check, shapeStr, type GpuTensor } from '../../gpu/tensor.js';
import { axpbyScaled } from '../../kernels/axpby_scaled.js';
import { sub } from '../../kernels/elementwise.js';
import { maxAbsPerSample } from '../../kernels/reduce.js';
import { concat0, slice0 } from '../../kernels/tensor_ops.js';
import type { Constraint } from './constraint.js';
import type { LatentCodec } from './latent_codec.js';

export type TraceFn = (name: string, t: GpuTensor) => Promise<void>;

export class StyleConstraint implements Constraint {
  readonly name = 'style';

  /** gRef: [1, D, D] (one style for every sample) or [N, D, D]; owned (freed by destroy) */
  constructor(readonly loss: ClipStyleLoss, readonly gRef: GpuTensor, readonly codec: LatentCodec, readonly h = 0.005) {
    const D = loss.width;
    check(gRef.shape.length === 3 && gRef.shape[1] === D && gRef.shape[2] === D, `style: G_ref ${shapeStr(gRef.shape)} must be [1 or N, ${D}, ${D}]`);
  }

  /** G_ref from a style image [1 or N, 3, H, W] in [-1, 1] (any size: it is resized like the samples). */
  static fromImage(ctx: GpuContext, loss: ClipStyleLoss, styleImage: GpuTensor, codec: LatentCodec, h = 0.005): StyleConstraint {
    return new StyleConstraint(loss, loss.gram(ctx, styleImage), codec, h);
  }

  async direction(ctx: GpuContext, x0: GpuTensor, trace?: TraceFn): Promise<GpuTensor> {
    const N = x0.shape[0];
    const xd = await this.codec.decode(ctx, x0);                       // D(x0)
    const { loss, grad } = this.loss.lossAndGrad(ctx, xd, this.gRef);  // L, dL/dimg
    const gNorm = maxAbsPerSample(ctx, grad);                          // max|r|, r = -grad
    const xdp = axpbyScaled(ctx, 1, xd, -this.h, grad, gNorm);         // D(x0) + delta_p r
    const pair = concat0(ctx, [xd, xdp]);
    const enc = await this.codec.encode(ctx, pair);                    // one batch of two
    const eBase = slice0(ctx, enc, 0, N), ePert = slice0(ctx, enc, N, N);
    const diff = sub(ctx, ePert, eBase);
    const d = axpbyScaled(ctx, 0, diff, 1 / this.h, diff, gNorm, undefined, true); // / delta_p
    if (trace) {
      await trace('Dx0', xd); await trace('style_loss', loss); await trace('style_grad', grad);
      await trace('delta_p_inv', gNorm); await trace('enc_base', eBase); await trace('enc_pert', ePert);
    }
    ctx.release(xd, loss, grad, gNorm, xdp, pair, enc, eBase, ePert, diff);
    return d;
  }

  /** Per-sample style loss L of the decoded x0 (reporting). */
  async residual(ctx: GpuContext, x0: GpuTensor): Promise<number[]> {
    const img = await this.codec.decode(ctx, x0);
    const l = this.loss.loss(ctx, img, this.gRef);
    const v = await ctx.read(l);
    ctx.release(img, l);
    return Array.from(v);
  }

  destroy(ctx: GpuContext): void {
    ctx.release(this.gRef);
  }
}
