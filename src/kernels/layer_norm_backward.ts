// Input gradient of LayerNorm over the last dim (layer_norm.ts), with an optional residual
// gradient added in the same pass.
import type { GpuContext } from '../gpu/context.js';
import { defineKernel } from '../gpu/kernel.js';
import { check, GpuTensor, shapeStr } from '../gpu/tensor.js';
import { grid1d } from './grid.js';
import { wgsl } from './wgsl.gen.js';

export const layerNormBackwardKernel = defineKernel({ name: 'layer_norm_backward', source: wgsl.layer_norm_backward, overrides: { WG: 128 } });

/** x (forward input), dy: [..., C], gamma: [C], acc: [..., C] or undefined -> dx [..., C] */
export function layerNormBackward(ctx: GpuContext, x: GpuTensor, dy: GpuTensor, gamma: GpuTensor, eps = 1e-5,
                                  acc?: GpuTensor): GpuTensor {
  const C = x.shape[x.shape.length - 1];
  check(dy.size === x.size && dy.dtype === x.dtype, `layer_norm_backward: dy ${shapeStr(dy.shape)} vs x ${shapeStr(x.shape)}`);
  check(gamma.size === C, `layer_norm_backward: gamma ${shapeStr(gamma.shape)} must have C=${C} values`);
  check(!acc || (acc.size === x.size && acc.dtype === x.dtype), 'layer_norm_backward: acc must match x');
  const rows = x.size / C;
  const dx = ctx.alloc(x.shape, x.dtype);
  const g = grid1d(rows, 1);
  ctx.dispatch(layerNormBackwardKernel, { x, dy, gamma, acc: acc ?? dy, dx },
    { rows, C, eps, has_acc: acc ? 1 : 0, row_stride: g.rowStride }, g.workgroups, { types: { T: x.dtype, W: gamma.dtype } });
  return dx;
}
