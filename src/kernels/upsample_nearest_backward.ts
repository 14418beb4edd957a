// Input gradient of the UNet's Upsample2D interpolation (upsample_nearest.ts at exactly 2x): the
// sum of each 2x2 block of dy. Other ratios are refused (SD 1.x upsamples by 2 at even sizes; an
// odd skip size, where diffusers passes output_size, would need the general scatter).
// Reference: src/kernels/reference/upsample_nearest_backward.ts (checked against finite differences).
import type { GpuContext } from '../gpu/context.js';
import { defineKernel } from '../gpu/kernel.js';
import { check, GpuTensor, shapeStr } from '../gpu/tensor.js';
import { grid1d } from './grid.js';
import { wgsl } from './wgsl.gen.js';

export const upsampleNearestBackwardKernel = defineKernel({
  name: 'upsample_nearest_backward', source: wgsl.upsample_nearest_backward, overrides: { WG: 256 },
});

/** dy: [N, C, 2H, 2W] -> dx [N, C, H, W] */
export function upsampleNearestBackward(ctx: GpuContext, dy: GpuTensor): GpuTensor {
  check(dy.shape.length === 4 && dy.shape[2] % 2 === 0 && dy.shape[3] % 2 === 0,
    `upsample_nearest_backward: dy must be [N, C, 2H, 2W] (exact 2x), got ${shapeStr(dy.shape)}`);
  const [N, C, H2, W2] = dy.shape as [number, number, number, number];
  const H = H2 / 2, W = W2 / 2;
  const dx = ctx.alloc([N, C, H, W], dy.dtype);
  const g = grid1d(dx.size, 256);
  ctx.dispatch(upsampleNearestBackwardKernel, { dy, dx }, { n: dx.size, H, W, row_stride: g.rowStride }, g.workgroups,
    { types: { T: dy.dtype, W: dy.dtype } });
  return dx;
}
