import { expect } from 'vitest';
import { axpbyScaled } from '../../src/kernels/axpby_scaled.js';
import { axpbyScaledRef } from '../../src/kernels/reference/axpby_scaled.js';
import { gpuTest } from '../helpers/gpu.js';
import { expectClose, F16_TOL, F32_TOL, randn, roundF16 } from '../helpers/numeric.js';

for (const dtype of ['f32', 'f16'] as const) {
  for (const shape of [[1, 4, 64, 64], [4, 4, 8, 8], [3, 3, 7, 5]]) {
    gpuTest(`axpby_scaled ${dtype} [${shape}]`, async (ctx) => {
      const n = shape.reduce((x, y) => x * y, 1), N = shape[0];
      let a = randn(n, 3), b = randn(n, 4);
      if (dtype === 'f16') { a = roundF16(a); b = roundF16(b); }
      const s = Float32Array.from({ length: N }, (_, i) => (i === 1 ? 0 : 0.5 + i));
      const y = axpbyScaled(ctx, 0.9, ctx.upload(a, shape, dtype), 0.005, ctx.upload(b, shape, dtype), ctx.upload(s, [N]));
      expectClose(await ctx.read(y), axpbyScaledRef(0.9, a, 0.005, b, s), dtype === 'f32' ? F32_TOL : F16_TOL);
      const ym = axpbyScaled(ctx, 0, ctx.upload(a, shape, dtype), 1 / 0.005, ctx.upload(b, shape, dtype), ctx.upload(s, [N]), undefined, true);
      expectClose(await ctx.read(ym), axpbyScaledRef(0, a, 1 / 0.005, b, s, true), dtype === 'f32' ? F32_TOL : F16_TOL);
    });
  }
}

// (NaN propagation is not asserted: WGSL lets implementations assume finite math. Non-finite
// values are caught by the reductions' bit tests instead: see reduce.wgsl.)
gpuTest('axpby_scaled: a zero norm drops the term instead of producing 0 * inf', async (ctx) => {
  const a = Float32Array.from([1, 2, 3, 4]), b = Float32Array.from([5, 6, 7, 8]);
  const y = await ctx.read(axpbyScaled(ctx, 1, ctx.upload(a, [2, 2]), 1, ctx.upload(b, [2, 2]), ctx.upload(Float32Array.from([0, 2]), [2])));
  expect(Array.from(y)).toEqual([1, 2, 6.5, 8]);
});
