// The style loss of arXiv 2410.18804 as this project defines it (method.md, decision 3), with
// its gradient w.r.t. the image by an explicit reverse pass (no autograd framework):
//   pixel_values = (resize_bilinear(img, S) + 1) / 2, then (. - mean) / std      (float32)
//   F = hidden_states[3][:, 1:, :]  (CLIP ViT tokens after encoder.layers[2], CLS dropped)
//   G = F^T F (unnormalised);  L = ||G_ref - G||_F (not squared);  dL/dG = (G - G_ref) / L, 0 at L = 0
// Everything stays on the GPU (L included): no readback between forward and backward.
import type { GpuContext } from '../gpu/context.js';
import { check, shapeStr, type GpuTensor } from '../gpu/tensor.js';
import { bilinearResize } from '../kernels/bilinear_resize.js';
import { bilinearResizeBackward } from '../kernels/bilinear_resize_backward.js';
import { clipNormalize } from '../kernels/clip_normalize.js';
import { clipNormalizeBackward } from '../kernels/clip_normalize_backward.js';
import { frobeniusLoss } from '../kernels/frobenius_loss.js';
import { frobeniusLossBackward } from '../kernels/frobenius_loss_backward.js';
import { gram } from '../kernels/gram.js';
import { gramBackward } from '../kernels/gram_backward.js';
import type { ClipTape, ClipVisionModel } from './clip_vision_model.js';

/** The hidden_states index of the style features (the paper's code hooks resblocks[2]). */
export const STYLE_HIDDEN_STATE = 3;

export interface StyleEval {
  /** [N] f32, L per sample */
  loss: GpuTensor;
  /** dL/dimg [N, 3, H, W] */
  grad: GpuTensor;
  /** hidden_states[layer] [N, T, D] (CLS row included) when asked for */
  features?: GpuTensor;
  /** G [N, D, D] when asked for */
  gram?: GpuTensor;
}

export class ClipStyleLoss {
  private ones = new Map<number, GpuTensor>();

  constructor(readonly model: ClipVisionModel, readonly layer = STYLE_HIDDEN_STATE) {
    check(layer >= 0 && layer <= model.numLayers, `style loss: hidden_states[${layer}] needs ${layer} encoder layers, ${model.numLayers} loaded`);
  }

  /** Feature width D (G is D x D). */
  get width(): number { return this.model.config.hiddenSize; }

  /** img [N, 3, H, W] in [-1, 1] -> pixel_values [N, 3, S, S] */
  preprocess(ctx: GpuContext, img: GpuTensor): GpuTensor {
    check(img.shape.length === 4 && img.shape[1] === 3, `style loss: image must be [N, 3, H, W], got ${shapeStr(img.shape)}`);
    const S = this.model.config.imageSize;
    const resized = bilinearResize(ctx, img, S, S);
    const pv = clipNormalize(ctx, resized);
    ctx.release(resized);
    return pv;
  }

  /** img -> hidden_states[layer] [N, T, D] */
  features(ctx: GpuContext, img: GpuTensor, tape?: ClipTape): GpuTensor {
    const pv = this.preprocess(ctx, img);
    const h = this.model.forward(ctx, pv, this.layer, tape);
    ctx.release(pv);
    return h;
  }

  /** img -> G [N, D, D] (the reference side: G_ref = gram(img_ref)) */
  gram(ctx: GpuContext, img: GpuTensor): GpuTensor {
    const h = this.features(ctx, img);
    const g = gram(ctx, h, 1);
    ctx.release(h);
    return g;
  }

  /** L(img) per sample, forward only: [N] f32 (reporting, the constraint residual). */
  loss(ctx: GpuContext, img: GpuTensor, gRef: GpuTensor): GpuTensor {
    const G = this.gram(ctx, img);
    const l = frobeniusLoss(ctx, G, gRef);
    ctx.release(G);
    return l;
  }

  /** L(img) = ||G_ref - G(img)||_F per sample, and dL/dimg. gRef: [1 or N, D, D]. */
  lossAndGrad(ctx: GpuContext, img: GpuTensor, gRef: GpuTensor, keep: { features?: boolean; gram?: boolean } = {}): StyleEval {
    const [N, , H, W] = img.shape;
    const D = this.width;
    check(gRef.size === D * D || gRef.size === N * D * D, `style loss: G_ref ${shapeStr(gRef.shape)} must be [1 or ${N}, ${D}, ${D}]`);
    const tape: ClipTape = { layers: [] };
    // forward, keeping what the backward needs
    const h = this.features(ctx, img, tape);
    const G = gram(ctx, h, 1);
    const loss = frobeniusLoss(ctx, G, gRef);
    // reverse pass: loss -> Gram -> tokens -> encoder -> embeddings -> pixel_values -> image
    const dG = frobeniusLossBackward(ctx, G, gRef, loss, this.onesOf(ctx, N));
    const dH = gramBackward(ctx, h, dG, 1);
    const dPv = this.model.backward(ctx, dH, tape);
    const dResized = clipNormalizeBackward(ctx, dPv);
    const grad = bilinearResizeBackward(ctx, dResized, H, W);
    this.model.releaseTape(ctx, tape);
    ctx.release(dG, dH, dPv, dResized);
    if (!keep.features) ctx.release(h);
    if (!keep.gram) ctx.release(G);
    return { loss, grad, features: keep.features ? h : undefined, gram: keep.gram ? G : undefined };
  }

  private onesOf(ctx: GpuContext, N: number): GpuTensor {
    let t = this.ones.get(N);
    if (!t) {
      t = ctx.upload(new Float32Array(N).fill(1), [N], 'f32', true);
      this.ones.set(N, t);
    }
    return t;
  }

  /** Frees the loss's own buffers (not the model). */
  destroy(ctx: GpuContext): void {
    for (const t of this.ones.values()) ctx.destroy(t);
    this.ones.clear();
  }
}
