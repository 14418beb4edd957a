// A dense matrix applied along one axis (separable linear image operators and their adjoints).
import type { GpuContext } from '../gpu/context.js';
import { defineKernel } from '../gpu/kernel.js';
import { check, GpuTensor, shapeStr } from '../gpu/tensor.js';
import { grid1d } from './grid.js';
import { wgsl } from './wgsl.gen.js';

export const axisMatmulKernel = defineKernel({ name: 'axis_matmul', source: wgsl.axis_matmul, overrides: { WG: 256 } });

/** x: [..., L_in (at `axis`), ...], m: f32 [L_out, L_in] -> [..., L_out, ...] */
export function axisMatmul(ctx: GpuContext, x: GpuTensor, m: GpuTensor, axis: number): GpuTensor {
  check(axis >= 0 && axis < x.shape.length, `axis_matmul: axis ${axis} out of range for ${shapeStr(x.shape)}`);
  check(m.shape.length === 2 && m.shape[1] === x.shape[axis] && m.dtype === 'f32',
    `axis_matmul: matrix ${shapeStr(m.shape)} does not apply to axis ${axis} of ${shapeStr(x.shape)}`);
  const outer = x.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = x.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const [lOut, lIn] = m.shape;
  const shape = [...x.shape];
  shape[axis] = lOut;
  const y = ctx.alloc(shape, x.dtype);
  const g = grid1d(outer * lOut * inner, 256);
  ctx.dispatch(axisMatmulKernel, { x, m, y }, { outer, l_in: lIn, l_out: lOut, inner, row_stride: g.rowStride },
    g.workgroups, { types: { T: x.dtype, W: 'f32' } });
  return y;
}
