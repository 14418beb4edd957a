// Input gradient of frobenius_loss: dG = dl (G - G_ref) / L, 0 where L == 0.
import type { GpuContext } from '../gpu/context.js';
import { defineKernel } from '../gpu/kernel.js';
import { check, GpuTensor, shapeStr } from '../gpu/tensor.js';
import { grid1d } from './grid.js';
import { wgsl } from './wgsl.gen.js';

export const frobeniusLossBackwardKernel = defineKernel({
  name: 'frobenius_loss_backward', source: wgsl.frobenius_loss_backward, overrides: { WG: 256 },
});

/** g: [N, ...], gRef: [1 or N, ...], l: [N] f32 (the loss), dl: [N] f32 (upstream, 1 for L itself) -> dG like g */
export function frobeniusLossBackward(ctx: GpuContext, g: GpuTensor, gRef: GpuTensor, l: GpuTensor, dl: GpuTensor): GpuTensor {
  const N = g.shape[0], M = g.size / N;
  check(gRef.dtype === g.dtype && (gRef.size === M || gRef.size === g.size), `frobenius_loss_backward: G_ref ${shapeStr(gRef.shape)}`);
  check(l.size === N && dl.size === N && l.dtype === 'f32' && dl.dtype === 'f32', `frobenius_loss_backward: l and dl must be f32 [${N}]`);
  const dg = ctx.alloc(g.shape, g.dtype);
  const grid = grid1d(g.size, 256);
  ctx.dispatch(frobeniusLossBackwardKernel, { g, g_ref: gRef, l, dl, dg },
    { n: g.size, M, ref_stride: gRef.size === g.size ? M : 0, row_stride: grid.rowStride }, grid.workgroups,
    { types: { T: g.dtype, W: g.dtype } });
  return dg;
}
