// Input gradient of bilinear_resize: the transpose of the resize, as a gather over the output
// pixels that tap each input pixel (deterministic, no atomics).
import type { GpuContext } from '../gpu/context.js';
import { defineKernel } from '../gpu/kernel.js';
import { check, GpuTensor, shapeStr } from '../gpu/tensor.js';
import { bilinearTableTensor } from './bilinear_resize.js';
import { grid1d } from './grid.js';
import { wgsl } from './wgsl.gen.js';

export const bilinearResizeBackwardKernel = defineKernel({
  name: 'bilinear_resize_backward', source: wgsl.bilinear_resize_backward, overrides: { WG: 256 },
});

/** dy: [N, C, Ho, Wo] -> dx: [N, C, H, W] (the input size of the forward resize) */
export function bilinearResizeBackward(ctx: GpuContext, dy: GpuTensor, H: number, W: number): GpuTensor {
  check(dy.shape.length === 4, `bilinear_resize_backward: dy must be [N, C, Ho, Wo], got ${shapeStr(dy.shape)}`);
  const [N, C, Ho, Wo] = dy.shape;
  const taps = bilinearTableTensor(ctx, H, W, Ho, Wo);
  const dx = ctx.alloc([N, C, H, W], dy.dtype);
  const g = grid1d(dx.size, 256);
  ctx.dispatch(bilinearResizeBackwardKernel, { dy, taps, dx }, { planes: N * C, H, W, Ho, Wo, row_stride: g.rowStride },
    g.workgroups, { types: { T: dy.dtype, W: dy.dtype } });
  return dx;
}
