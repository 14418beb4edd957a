// Channel concatenation for the UNet up path: cat([h, skip], dim=1).
import type { GpuContext } from '../gpu/context.js';
import { defineKernel } from '../gpu/kernel.js';
import { check, GpuTensor, shapeStr } from '../gpu/tensor.js';
import { grid1d } from './grid.js';
import { wgsl } from './wgsl.gen.js';

export const concatKernel = defineKernel({ name: 'concat', source: wgsl.concat, overrides: { WG: 256 } });

/** a: [N, Ca, H, W], b: [N, Cb, H, W] -> [N, Ca+Cb, H, W] (a first) */
export function concatChannels(ctx: GpuContext, a: GpuTensor, b: GpuTensor): GpuTensor {
  check(a.shape.length === 4 && b.shape.length === 4, `concat: inputs must be [N, C, H, W], got ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
  const [N, Ca, H, W] = a.shape;
  const [Nb, Cb, Hb, Wb] = b.shape;
  check(N === Nb && H === Hb && W === Wb, `concat: ${shapeStr(a.shape)} and ${shapeStr(b.shape)} differ outside dim 1`);
  check(a.dtype === b.dtype, `concat: dtypes differ (${a.dtype} vs ${b.dtype})`);
  const y = ctx.alloc([N, Ca + Cb, H, W], a.dtype);
  const g = grid1d(y.size, 256);
  ctx.dispatch(concatKernel, { a, b, y }, { n: y.size, sa: Ca * H * W, sb: Cb * H * W, row_stride: g.rowStride },
    g.workgroups, { types: { T: a.dtype, W: a.dtype } });
  return y;
}
