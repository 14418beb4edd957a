import { axisMatmul } from '../../src/kernels/axis_matmul.js';
import { axisMatmulRef } from '../../src/kernels/reference/axis_matmul.js';
import { gpuTest } from '../helpers/gpu.js';
import { expectClose, F16_TOL, F32_TOL, randn, roundF16 } from '../helpers/numeric.js';

const CASES = [
  { shape: [1, 3, 64, 64], axis: 3, lOut: 8 },    // x8 downscale along W
  { shape: [1, 3, 64, 8], axis: 2, lOut: 8 },
  { shape: [2, 3, 17, 13], axis: 1, lOut: 1 },    // grey-scale channel mix
  { shape: [1, 1, 8, 5], axis: 2, lOut: 64 },     // adjoint (upsampling) along H
];

for (const dtype of ['f32', 'f16'] as const) {
  for (const c of CASES) {
    gpuTest(`axis_matmul ${dtype} [${c.shape}] axis ${c.axis} -> ${c.lOut}`, async (ctx) => {
      const n = c.shape.reduce((a, b) => a * b, 1);
      let x = randn(n, 11);
      if (dtype === 'f16') x = roundF16(x);
      const m = randn(c.lOut * c.shape[c.axis], 12, 0.3);
      const y = axisMatmul(ctx, ctx.upload(x, c.shape, dtype), ctx.upload(m, [c.lOut, c.shape[c.axis]]), c.axis);
      expectClose(await ctx.read(y), axisMatmulRef(x, c.shape, m, c.lOut, c.axis), dtype === 'f32' ? F32_TOL : F16_TOL);
    });
  }
}
