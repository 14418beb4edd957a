// Style constraint (arXiv 2410.18804, "style"; method.md decision 3): move the decoded image down
// the gradient of a Gram-matrix loss L(img) = ||G_ref - G(img)||_F (the authors': CLIP ViT-B/16
// features after block 2). Only the loss network is differentiated (src/clip_vision's explicit
// backward); the pixel-space direction r = -dL/dimg is pulled back to latent space forward-only
// through the encoder (ours, decision 1; pull_back.ts). At L = 0 the gradient is exactly 0 and so
// is d.
import type { GpuContext } from '../../gpu/context.js';
import { check, shapeStr, type GpuTensor } from '../../gpu/tensor.js';
import type { Constraint, TraceFn } from './constraint.js';
import type { LatentCodec } from './latent_codec.js';
import { pullBack } from './pull_back.js';

/**
 * The sampler's view of the style loss, as LatentCodec is its view of the VAE: implemented by
 * src/clip_vision/style_loss.ts (ClipStyleLoss); the sampler never imports the CLIP classes.
 */
export interface StyleLoss {
  /** feature width D: Gram matrices are [N, D, D] */
  readonly width: number;
  /** image [N, 3, H, W] in [-1, 1] -> G [N, D, D] */
  gram(ctx: GpuContext, img: GpuTensor): GpuTensor;
  /** -> L [N] */
  loss(ctx: GpuContext, img: GpuTensor, gRef: GpuTensor): GpuTensor;
  /** -> L [N] and dL/dimg [N, 3, H, W], both new tensors */
  lossAndGrad(ctx: GpuContext, img: GpuTensor, gRef: GpuTensor): { loss: GpuTensor; grad: GpuTensor };
}

export class StyleConstraint implements Constraint {
  readonly name = 'style';

  /** gRef: [1, D, D] (one style for every sample) or [N, D, D]; owned (freed by destroy) */
  constructor(readonly loss: StyleLoss, readonly gRef: GpuTensor, readonly codec: LatentCodec, readonly h = 0.005) {
    const D = loss.width;
    check(gRef.shape.length === 3 && gRef.shape[1] === D && gRef.shape[2] === D, `style: G_ref ${shapeStr(gRef.shape)} must be [1 or N, ${D}, ${D}]`);
  }

  /** G_ref from a style image [1 or N, 3, H, W] in [-1, 1] (any size: it is resized like the samples). */
  static fromImage(ctx: GpuContext, loss: StyleLoss, styleImage: GpuTensor, codec: LatentCodec, h = 0.005): StyleConstraint {
    return new StyleConstraint(loss, loss.gram(ctx, styleImage), codec, h);
  }

  async direction(ctx: GpuContext, x0: GpuTensor, trace?: TraceFn): Promise<GpuTensor> {
    return ctx.scope(async () => {
      const xd = await this.codec.decode(ctx, x0);                       // D(x0)
      const { loss, grad } = this.loss.lossAndGrad(ctx, xd, this.gRef);  // L, dL/dimg
      if (trace) { await trace('Dx0', xd); await trace('style_loss', loss); await trace('style_grad', grad); }
      return pullBack(ctx, this.codec, xd, grad, this.h, { sign: -1, trace });  // r = -dL/dimg
    });
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
