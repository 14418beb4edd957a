// GEGLU activation (diffusers attention.GEGLU, after its projection): h * gelu(g), exact erf gelu.
import type { GpuContext } from '../gpu/context.js';
import { defineKernel } from '../gpu/kernel.js';
import { check, GpuTensor, shapeStr } from '../gpu/tensor.js';
import { grid1d } from './grid.js';
import { wgsl } from './wgsl.gen.js';

export const gegluKernel = defineKernel({ name: 'geglu', source: wgsl.geglu, overrides: { WG: 256 } });

/** x: [..., 2C] -> [..., C] = x[..., :C] * gelu(x[..., C:]) */
export function geglu(ctx: GpuContext, x: GpuTensor): GpuTensor {
  const last = x.shape[x.shape.length - 1];
  check(x.shape.length >= 1 && last % 2 === 0, `geglu: last dim of ${shapeStr(x.shape)} must be even`);
  const C = last / 2;
  const y = ctx.alloc([...x.shape.slice(0, -1), C], x.dtype);
  const g = grid1d(y.size, 256);
  ctx.dispatch(gegluKernel, { x, y }, { n: y.size, C, row_stride: g.rowStride }, g.workgroups,
    { types: { T: x.dtype, W: x.dtype } });
  return y;
}
