// Input gradient of quick_gelu (the forward is elementwise.ts unary 'quick_gelu').
import type { GpuContext } from '../gpu/context.js';
import { defineKernel } from '../gpu/kernel.js';
import { check, GpuTensor, shapeStr } from '../gpu/tensor.js';
import { grid1d } from './grid.js';
import { wgsl } from './wgsl.gen.js';

export const quickGeluBackwardKernel = defineKernel({ name: 'quick_gelu_backward', source: wgsl.quick_gelu_backward, overrides: { WG: 256 } });

/** x (the forward input), dy: same shape -> dx */
export function quickGeluBackward(ctx: GpuContext, x: GpuTensor, dy: GpuTensor): GpuTensor {
  check(x.size === dy.size && x.dtype === dy.dtype, `quick_gelu_backward: x ${shapeStr(x.shape)} vs dy ${shapeStr(dy.shape)}`);
  const dx = ctx.alloc(x.shape, x.dtype);
  const g = grid1d(x.size, 256);
  ctx.dispatch(quickGeluBackwardKernel, { x, dy, dx }, { n: x.size, row_stride: g.rowStride }, g.workgroups,
    { types: { T: x.dtype, W: x.dtype } });
  return dx;
}
