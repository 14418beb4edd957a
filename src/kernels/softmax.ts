// Softmax over the last dim (the VAE's materialised score blocks, CLIP vision's 197 tokens).
import type { GpuContext } from '../gpu/context.js';
import { defineKernel } from '../gpu/kernel.js';
import { check, GpuTensor } from '../gpu/tensor.js';
import { grid1d } from './grid.js';
import { wgsl } from './wgsl.gen.js';

export const softmaxKernel = defineKernel({ name: 'softmax', source: wgsl.softmax, overrides: { WG: 64 } });

/** x: [..., L] -> softmax over L */
export function softmax(ctx: GpuContext, x: GpuTensor): GpuTensor {
  const L = x.shape[x.shape.length - 1]!;
  check(L > 0, 'softmax: empty last dim');
  const rows = x.size / L;
  const y = ctx.alloc(x.shape, x.dtype);
  const g = grid1d(rows, 1);
  ctx.dispatch(softmaxKernel, { x, y }, { rows, L, row_stride: g.rowStride }, g.workgroups, { types: { T: x.dtype, W: x.dtype } });
  return y;
}
