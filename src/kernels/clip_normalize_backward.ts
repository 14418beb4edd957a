// Input gradient of clip_normalize: dx = dy / std[c] / 2.
import type { GpuContext } from '../gpu/context.js';
import { defineKernel } from '../gpu/kernel.js';
import { check, GpuTensor, shapeStr } from '../gpu/tensor.js';
import { CLIP_STD } from './clip_normalize.js';
import { grid1d } from './grid.js';
import { wgsl } from './wgsl.gen.js';

export const clipNormalizeBackwardKernel = defineKernel({
  name: 'clip_normalize_backward', source: wgsl.clip_normalize_backward, overrides: { WG: 256 },
});

/** dy: [N, 3, H, W] -> dx: [N, 3, H, W] */
export function clipNormalizeBackward(ctx: GpuContext, dy: GpuTensor, std: readonly number[] = CLIP_STD): GpuTensor {
  check(dy.shape.length === 4 && dy.shape[1] === 3, `clip_normalize_backward: dy must be [N, 3, H, W], got ${shapeStr(dy.shape)}`);
  check(std.length === 3 && std.every((s) => s > 0), 'clip_normalize_backward: 3 positive stds');
  const dx = ctx.alloc(dy.shape, dy.dtype);
  const g = grid1d(dy.size, 256);
  ctx.dispatch(clipNormalizeBackwardKernel, { dy, dx }, {
    n: dy.size, HW: dy.shape[2] * dy.shape[3], std0: std[0], std1: std[1], std2: std[2], row_stride: g.rowStride,
  }, g.workgroups, { types: { T: dy.dtype, W: dy.dtype } });
  return dx;
}
