// CLIP pixel normalisation for the style path: [-1, 1] images -> ((x + 1) / 2 - mean) / std.
import type { GpuContext } from '../gpu/context.js';
import { defineKernel } from '../gpu/kernel.js';
import { check, GpuTensor, shapeStr } from '../gpu/tensor.js';
import { grid1d } from './grid.js';
import { wgsl } from './wgsl.gen.js';

export const clipNormalizeKernel = defineKernel({ name: 'clip_normalize', source: wgsl.clip_normalize, overrides: { WG: 256 } });

/** OpenAI CLIP's image mean and std (transformers CLIPImageProcessor; float32 in the goldens). */
export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;

/** x: [N, 3, H, W] in [-1, 1] -> [N, 3, H, W] */
export function clipNormalize(ctx: GpuContext, x: GpuTensor, mean: readonly number[] = CLIP_MEAN,
                              std: readonly number[] = CLIP_STD): GpuTensor {
  check(x.shape.length === 4 && x.shape[1] === 3, `clip_normalize: x must be [N, 3, H, W], got ${shapeStr(x.shape)}`);
  check(mean.length === 3 && std.length === 3 && std.every((s) => s > 0), 'clip_normalize: 3 means and 3 positive stds');
  const y = ctx.alloc(x.shape, x.dtype);
  const g = grid1d(x.size, 256);
  ctx.dispatch(clipNormalizeKernel, { x, y }, {
    n: x.size, HW: x.shape[2] * x.shape[3], mean0: mean[0], mean1: mean[1], mean2: mean[2],
    std0: std[0], std1: std[1], std2: std[2], row_stride: g.rowStride,
  }, g.workgroups, { types: { T: x.dtype, W: x.dtype } });
  return y;
}
