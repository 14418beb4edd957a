// Style Gram matrix G = F^T F of token features (CLS skipped), unnormalised.
import type { GpuContext } from '../gpu/context.js';
import { defineKernel } from '../gpu/kernel.js';
import { check, GpuTensor, shapeStr } from '../gpu/tensor.js';
import { blockedDispatch } from './grid.js';
import { wgsl } from './wgsl.gen.js';

export const gramKernel = defineKernel({ name: 'gram', source: wgsl.gram, overrides: { R: 8, WG: 64 } });

/** f: [N, T, D] -> G [N, D, D] over tokens skip..T-1 */
export function gram(ctx: GpuContext, f: GpuTensor, skip = 1): GpuTensor {
  check(f.shape.length === 3, `gram: f must be [N, T, D], got ${shapeStr(f.shape)}`);
  const [N, T, D] = f.shape;
  check(Number.isInteger(skip) && skip >= 0 && skip < T, `gram: skip ${skip} of ${T} tokens`);
  const g = ctx.alloc([N, D, D], f.dtype);
  const b = blockedDispatch(D, D, N);
  ctx.dispatch(gramKernel, { f, g }, { T, D, skip }, b.workgroups, { types: { T: f.dtype, W: f.dtype }, overrides: b.overrides });
  return g;
}
