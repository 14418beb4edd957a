// Style loss L[n] = ||G_ref - G[n]||_F (not squared), kept on the GPU as f32 [N].
import type { GpuContext } from '../gpu/context.js';
import { defineKernel } from '../gpu/kernel.js';
import { check, GpuTensor, shapeStr } from '../gpu/tensor.js';
import { wgsl } from './wgsl.gen.js';

export const frobeniusLossKernel = defineKernel({ name: 'frobenius_loss', source: wgsl.frobenius_loss, overrides: { WG: 256 } });

/** g: [N, ...], gRef: [1, ...] (shared) or [N, ...] -> L [N] f32 */
export function frobeniusLoss(ctx: GpuContext, g: GpuTensor, gRef: GpuTensor): GpuTensor {
  const N = g.shape[0], M = g.size / N;
  check(gRef.dtype === g.dtype && (gRef.size === M || gRef.size === g.size),
    `frobenius_loss: G_ref ${shapeStr(gRef.shape)} must be one or ${N} copies of ${shapeStr(g.shape.slice(1))}`);
  const l = ctx.alloc([N], 'f32');
  ctx.dispatch(frobeniusLossKernel, { g, g_ref: gRef, l }, { M, ref_stride: gRef.size === g.size ? M : 0 }, [N],
    { types: { T: g.dtype, W: g.dtype } });
  return l;
}
