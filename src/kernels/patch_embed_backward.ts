// Input (pixel) gradient of patch_embed.
import type { GpuContext } from '../gpu/context.js';
import { defineKernel } from '../gpu/kernel.js';
import { check, GpuTensor, shapeStr } from '../gpu/tensor.js';
import { blockedDispatch } from './grid.js';
import { wgsl } from './wgsl.gen.js';

export const patchEmbedBackwardKernel = defineKernel({ name: 'patch_embed_backward', source: wgsl.patch_embed_backward, overrides: { R: 8, WG: 64 } });

/** dy: [N, T, D], w: [D, C, p, p] -> dx [N, C, S, S] with S = p * sqrt(T - 1) */
export function patchEmbedBackward(ctx: GpuContext, dy: GpuTensor, w: GpuTensor): GpuTensor {
  check(dy.shape.length === 3 && w.shape.length === 4, `patch_embed_backward: dy ${shapeStr(dy.shape)}, w ${shapeStr(w.shape)}`);
  const [N, T, D] = dy.shape;
  const [Dw, C, patch] = w.shape;
  const G = Math.round(Math.sqrt(T - 1));
  check(Dw === D && G * G === T - 1, `patch_embed_backward: dy ${shapeStr(dy.shape)} is not 1 + G^2 tokens of width ${Dw}`);
  const S = G * patch, K = C * patch * patch;
  const dx = ctx.alloc([N, C, S, S], dy.dtype);
  const b = blockedDispatch(N * (T - 1), K);
  ctx.dispatch(patchEmbedBackwardKernel, { dy, w, dx }, { N, C, S, ps: patch, D, T }, b.workgroups,
    { types: { T: dy.dtype, W: w.dtype }, overrides: b.overrides });
  return dx;
}
