// Input gradient of gram: df = f (dG + dG^T) on the used tokens, 0 on the skipped ones.
import type { GpuContext } from '../gpu/context.js';
import { defineKernel } from '../gpu/kernel.js';
import { check, GpuTensor, shapeStr } from '../gpu/tensor.js';
import { blockedDispatch } from './grid.js';
import { wgsl } from './wgsl.gen.js';

export const gramBackwardKernel = defineKernel({ name: 'gram_backward', source: wgsl.gram_backward, overrides: { R: 8, WG: 64 } });

/** f: [N, T, D], dg: [N, D, D] -> df [N, T, D] */
export function gramBackward(ctx: GpuContext, f: GpuTensor, dg: GpuTensor, skip = 1): GpuTensor {
  check(f.shape.length === 3, `gram_backward: f must be [N, T, D], got ${shapeStr(f.shape)}`);
  const [N, T, D] = f.shape;
  check(dg.size === N * D * D && dg.dtype === f.dtype, `gram_backward: dg ${shapeStr(dg.shape)} must be [${N}, ${D}, ${D}]`);
  check(Number.isInteger(skip) && skip >= 0 && skip < T, `gram_backward: skip ${skip} of ${T} tokens`);
  const df = ctx.alloc(f.shape, f.dtype);
  const b = blockedDispatch(T, D, N);
  ctx.dispatch(gramBackwardKernel, { f, dg, df }, { T, D, skip }, b.workgroups, { types: { T: f.dtype, W: f.dtype }, overrides: b.overrides });
  return df;
}
