// alpha * a + beta * b / s[n] with a per-sample scalar s living on the GPU (see the WGSL file).
import type { GpuContext } from '../gpu/context.js';
import { defineKernel } from '../gpu/kernel.js';
import { check, GpuTensor, shapeStr } from '../gpu/tensor.js';
import { grid1d } from './grid.js';
import { wgsl } from './wgsl.gen.js';

export const axpbyScaledKernel = defineKernel({ name: 'axpby_scaled', source: wgsl.axpby_scaled, overrides: { WG: 256, MULTIPLY: 0 } });

/** a, b: [N, ...] (same shape), s: [N] f32 -> alpha * a + beta * b / s[n] (0 where s[n] == 0), or * s[n] when `multiply` */
export function axpbyScaled(ctx: GpuContext, alpha: number, a: GpuTensor, beta: number, b: GpuTensor,
                            s: GpuTensor, out?: GpuTensor, multiply = false): GpuTensor {
  check(a.size === b.size && a.dtype === b.dtype, `axpby_scaled: a ${shapeStr(a.shape)} and b ${shapeStr(b.shape)} differ`);
  const N = a.shape[0];
  check(s.size === N && s.dtype === 'f32', `axpby_scaled: s must be f32 [${N}] (got ${s.dtype} ${shapeStr(s.shape)})`);
  const y = out ?? ctx.alloc(a.shape, a.dtype);
  const g = grid1d(a.size, 256);
  ctx.dispatch(axpbyScaledKernel, { a, b, s, y },
    { n: a.size, per_sample: a.size / N, alpha, beta, row_stride: g.rowStride }, g.workgroups,
    { types: { T: a.dtype, W: a.dtype }, overrides: { MULTIPLY: multiply ? 1 : 0 } });
  return y;
}
