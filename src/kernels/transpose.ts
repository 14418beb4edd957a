// Batched 2-D transpose (tiled through workgroup memory): NCHW <-> token-major layouts.
import type { GpuContext } from '../gpu/context.js';
import { defineKernel } from '../gpu/kernel.js';
import { check, GpuTensor, shapeStr } from '../gpu/tensor.js';
import { wgsl } from './wgsl.gen.js';

const TILE = 16;
export const transposeKernel = defineKernel({ name: 'transpose', source: wgsl.transpose, overrides: { TILE } });

/** x: [B, R, C] (or [R, C]) -> [B, C, R] (or [C, R]) */
export function transpose(ctx: GpuContext, x: GpuTensor): GpuTensor {
  check(x.shape.length === 2 || x.shape.length === 3, `transpose: x must be [B, R, C] or [R, C], got ${shapeStr(x.shape)}`);
  const [B, R, C] = x.shape.length === 3 ? x.shape : [1, ...x.shape];
  const y = ctx.alloc(x.shape.length === 3 ? [B, C, R] : [C, R], x.dtype);
  ctx.dispatch(transposeKernel, { x, y }, { R, C }, [Math.ceil(C / TILE), Math.ceil(R / TILE), B],
    { types: { T: x.dtype, W: x.dtype } });
  return y;
}
