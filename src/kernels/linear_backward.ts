// Input gradient of a linear layer: dx = dy W (+ acc), W in the checkpoint's [out, in] layout.
import type { GpuContext } from '../gpu/context.js';
import { defineKernel } from '../gpu/kernel.js';
import { check, GpuTensor, shapeStr } from '../gpu/tensor.js';
import { wgsl } from './wgsl.gen.js';

const TILE = 16;
export const linearBackwardKernel = defineKernel({ name: 'linear_backward', source: wgsl.linear_backward, overrides: { TILE } });

/** dy: [..., out], w: [out, in], acc: [..., in] or undefined -> dx [..., in] */
export function linearBackward(ctx: GpuContext, dy: GpuTensor, w: GpuTensor, acc?: GpuTensor): GpuTensor {
  check(w.shape.length === 2, `linear_backward: w must be [out, in], got ${shapeStr(w.shape)}`);
  const [Nout, K] = w.shape;
  check(dy.shape[dy.shape.length - 1] === Nout, `linear_backward: dy ${shapeStr(dy.shape)} does not end in ${Nout}`);
  const M = dy.size / Nout;
  const outShape = [...dy.shape.slice(0, -1), K];
  check(!acc || (acc.size === M * K && acc.dtype === dy.dtype), `linear_backward: acc must be ${shapeStr(outShape)}`);
  const dx = ctx.alloc(outShape, dy.dtype);
  ctx.dispatch(linearBackwardKernel, { dy, w, acc: acc ?? dy, dx }, { M, K, Nout, has_acc: acc ? 1 : 0 },
    [Math.ceil(K / TILE), Math.ceil(M / TILE)], { types: { T: dy.dtype, W: w.dtype } });
  return dx;
}
