// transformers' CLIPVisionEmbeddings: patch conv (as a matmul over patches) + class token +
// position embedding, in one kernel.
import type { GpuContext } from '../gpu/context.js';
import { defineKernel } from '../gpu/kernel.js';
import { check, GpuTensor, shapeStr } from '../gpu/tensor.js';
import { blockedDispatch } from './grid.js';
import { wgsl } from './wgsl.gen.js';

export const patchEmbedKernel = defineKernel({ name: 'patch_embed', source: wgsl.patch_embed, overrides: { R: 8, WG: 64 } });

/** x: [N, C, S, S], w: [D, C, p, p], cls: [D], pos: [T, D] (T = 1 + (S/p)^2) -> [N, T, D] */
export function patchEmbed(ctx: GpuContext, x: GpuTensor, w: GpuTensor, cls: GpuTensor, pos: GpuTensor): GpuTensor {
  check(x.shape.length === 4 && w.shape.length === 4, `patch_embed: x ${shapeStr(x.shape)}, w ${shapeStr(w.shape)}`);
  const [N, C, S, S2] = x.shape;
  const [D, Cw, patch, patch2] = w.shape;
  check(S === S2 && patch === patch2 && Cw === C && S % patch === 0,
    `patch_embed: square image ${shapeStr(x.shape)} made of whole ${patch}x${patch} patches of ${Cw} channels`);
  const T = 1 + (S / patch) ** 2;
  check(cls.size === D && pos.size === T * D, `patch_embed: cls ${shapeStr(cls.shape)} / pos ${shapeStr(pos.shape)} for D=${D}, T=${T}`);
  check(cls.dtype === w.dtype && pos.dtype === w.dtype, 'patch_embed: w, cls and pos must share a dtype');
  const y = ctx.alloc([N, T, D], x.dtype);
  const b = blockedDispatch(N * T, D);
  ctx.dispatch(patchEmbedKernel, { x, w, cls, pos, y }, { N, C, S, ps: patch, D, T }, b.workgroups,
    { types: { T: x.dtype, W: w.dtype }, overrides: b.overrides });
  return y;
}
