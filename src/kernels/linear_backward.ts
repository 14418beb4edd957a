// Input gradient of a linear layer: dx = dy W (+ acc), W in the checkpoint's [out, in] layout.
import type { GpuContext } from '../gpu/context.js';
import { defineKernel } from '../gpu/kernel.js';
import { check, GpuTensor, shapeStr } from '../gpu/tensor.js';
import { wgsl } from './wgsl.gen.js';

export const linearBackwardKernel = defineKernel({ name: 'linear_backward', source: wgsl.linear_backward, overrides: { R: 8, WG: 64 } });

/** Rows per invocation of the register-blocked contraction kernels (linear_backward, patch_embed*, gram*). */
export const BLOCK_ROWS = 8;

/**
 * Overrides and workgroup grid of a register-blocked kernel with `rows` x `cols` outputs per batch
 * item: R rows x 4 columns per invocation, WG invocations along the columns (fewer for narrow
 * outputs, so small problems do not idle most of a workgroup).
 */
export function blockedDispatch(rows: number, cols: number, batch = 1): { overrides: { R: number; WG: number }; workgroups: [number, number, number] } {
  const WG = Math.min(64, Math.max(8, 2 ** Math.ceil(Math.log2(Math.ceil(cols / 4)))));
  return { overrides: { R: BLOCK_ROWS, WG }, workgroups: [Math.ceil(cols / (4 * WG)), Math.ceil(rows / BLOCK_ROWS), batch] };
}

/** dy: [..., out], w: [out, in], acc: [..., in] or undefined -> dx [..., in] */
export function linearBackward(ctx: GpuContext, dy: GpuTensor, w: GpuTensor, acc?: GpuTensor): GpuTensor {
  check(w.shape.length === 2, `linear_backward: w must be [out, in], got ${shapeStr(w.shape)}`);
  const [Nout, K] = w.shape;
  check(dy.shape[dy.shape.length - 1] === Nout, `linear_backward: dy ${shapeStr(dy.shape)} does not end in ${Nout}`);
  const M = dy.size / Nout;
  const outShape = [...dy.shape.slice(0, -1), K];
  check(!acc || (acc.size === M * K && acc.dtype === dy.dtype), `linear_backward: acc must be ${shapeStr(outShape)}`);
  const dx = ctx.alloc(outShape, dy.dtype);
  const b = blockedDispatch(M, K);
  ctx.dispatch(linearBackwardKernel, { dy, w, acc: acc ?? dy, dx }, { M, K, Nout, has_acc: acc ? 1 : 0 },
    b.workgroups, { types: { T: dy.dtype, W: w.dtype }, overrides: b.overrides });
  return dx;
}
