// transformers models/clip/modeling_clip.py::CLIPVisionEmbeddings: patch_embedding (Conv2d,
// stride = kernel = patch_size, no bias), class_embedding, position_embedding (absolute, one per
// token; the position_ids buffer some checkpoints carry is ignored). Forward and pixel gradient
// each run as one kernel (patch_embed*.wgsl).
import type { GpuContext } from '../gpu/context.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { patchEmbed } from '../kernels/patch_embed.js';
import { patchEmbedBackward } from '../kernels/patch_embed_backward.js';
import { destroyParams, loadParam, type ParamOptions } from '../nn/param.js';
import type { Weights } from '../weights/weights.js';
import { numTokens, type ClipVisionConfig } from './config.js';

export class CLIPVisionEmbeddings {
  private constructor(readonly class_embedding: GpuTensor, readonly patch_embedding: GpuTensor, readonly position_embedding: GpuTensor) {}

  /** w scoped to `vision_model.embeddings` */
  static async load(ctx: GpuContext, w: Weights, cfg: ClipVisionConfig, opts: ParamOptions): Promise<CLIPVisionEmbeddings> {
    const D = cfg.hiddenSize, p = cfg.patchSize;
    const [cls, patch, pos] = await Promise.all([
      loadParam(ctx, w, 'class_embedding', [D], opts),
      loadParam(ctx, w.at('patch_embedding'), 'weight', [D, cfg.numChannels, p, p], opts),
      loadParam(ctx, w.at('position_embedding'), 'weight', [numTokens(cfg), D], opts),
    ]);
    return new CLIPVisionEmbeddings(cls, patch, pos);
  }

  /** pixel_values [N, C, S, S] -> embeddings [N, T, D] */
  forward(ctx: GpuContext, pixelValues: GpuTensor): GpuTensor {
    return patchEmbed(ctx, pixelValues, this.patch_embedding, this.class_embedding, this.position_embedding);
  }

  /** d embeddings [N, T, D] -> d pixel_values [N, C, S, S] */
  backward(ctx: GpuContext, dEmb: GpuTensor): GpuTensor {
    return patchEmbedBackward(ctx, dEmb, this.patch_embedding);
  }

  destroy(ctx: GpuContext): void {
    destroyParams(ctx, this.class_embedding, this.patch_embedding, this.position_embedding);
  }
}
