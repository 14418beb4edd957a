// Softmax over the last dim (any length: 77 text tokens, 4096 latent pixels, ...).
// Attention does not use it (src/kernels/attention.ts fuses an online softmax); it is the
// stand-alone op for scores that do exist (classifier logits, debugging an attention map).
import type { GpuContext } from '../gpu/context.js';
import { defineKernel } from '../gpu/kernel.js';
import { check, GpuTensor, shapeStr } from '../gpu/tensor.js';
import { grid1d } from './grid.js';
import { wgsl } from './wgsl.gen.js';

export const softmaxKernel = defineKernel({ name: 'softmax', source: wgsl.softmax, overrides: { WG: 64 } });

/** x: [..., L] -> [..., L], softmax over the last dim. */
export function softmax(ctx: GpuContext, x: GpuTensor): GpuTensor {
  check(x.shape.length >= 1, `softmax: x must have a last dim (got ${shapeStr(x.shape)})`);
  const L = x.shape[x.shape.length - 1];
  const rows = x.size / L;
  // Short rows get a smaller workgroup (a power of two, at most 64, the browsers' cap is 256).
  let WG = 8;
  while (WG < 64 && WG < L) WG *= 2;
  const y = ctx.alloc(x.shape, x.dtype);
  const g = grid1d(rows, 1);
  ctx.dispatch(softmaxKernel, { x, y }, { rows, L, row_stride: g.rowStride }, g.workgroups,
    { types: { T: x.dtype, W: x.dtype }, overrides: { WG } });
  return y;
}
