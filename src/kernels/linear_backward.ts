// Input gradient of a linear layer, dx = dy W (+ acc), W in the checkpoint's [out, in] layout.
// This is a plain GEMM with W read untransposed, so it runs on matmul.ts's strided gemm: the
// variant measured fastest on this adapter (on lavapipe the subgroup kernel, 3x the speed of a
// dedicated register-blocked kernel at ViT-B/16 size), and `acc` rides in its residual epilogue.
// Reference: src/kernels/reference/linear_backward.ts (checked against finite differences).
import type { GpuContext } from '../gpu/context.js';
import { check, GpuTensor, shapeStr } from '../gpu/tensor.js';
import { gemm, type MatmulVariant } from './matmul.js';

/** dy: [..., out], w: [out, in], acc: [..., in] or undefined -> dx [..., in] */
export function linearBackward(ctx: GpuContext, dy: GpuTensor, w: GpuTensor, acc?: GpuTensor, variant?: MatmulVariant): GpuTensor {
  check(w.shape.length === 2, `linear_backward: w must be [out, in], got ${shapeStr(w.shape)}`);
  const [Nout, K] = w.shape;
  check(dy.shape[dy.shape.length - 1] === Nout, `linear_backward: dy ${shapeStr(dy.shape)} does not end in ${Nout}`);
  const M = dy.size / Nout;
  const outShape = [...dy.shape.slice(0, -1), K];
  check(!acc || (acc.size === M * K && acc.dtype === dy.dtype), `linear_backward: acc must be ${shapeStr(outShape)}`);
  const dx = ctx.alloc(outShape, dy.dtype);
  // dx[m, k] = sum_j dy[m, j] w[j, k]:  A = dy (row-major, contiguous in j), B(j, k) = w[j * K + k]
  gemm(ctx, {
    batch: 1, M, N: K, K: Nout, a: dy, aSb: 0, aSm: Nout, aSk: 1, b: w, bSb: 0, bSn: 1, bSk: K,
    y: dx, ySb: 0, ySm: K, ySn: 1, residual: acc,
  }, variant);
  return dx;
}
