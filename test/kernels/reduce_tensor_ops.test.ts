// maxAbs / maxAbsPerSample (reduce.ts) and slice0 / concat0 / fill (tensor_ops.ts).
import { describe, expect } from 'vitest';
import { maxAbs, maxAbsPerSample } from '../../src/kernels/reduce.js';
import { maxAbsPerRowRef } from '../../src/kernels/reference/reduce.js';
import { concat0Ref, fillRef, slice0Ref } from '../../src/kernels/reference/tensor_ops.js';
import { concat0, fill, slice0 } from '../../src/kernels/tensor_ops.js';
import { gpuTest } from '../helpers/gpu.js';
import { expectClose, randn, roundF16 } from '../helpers/numeric.js';

const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const EXACT = { atol: 0, rtol: 0, maxNmse: 0 };

const REDUCE_SHAPES: number[][] = [
  [2, 4, 64, 64],     // SD latents (batch 2): 16384 values per sample, 4 chunks
  [1, 3, 512, 512],   // an image: 192 chunks
  [3, 7, 13],         // below one workgroup
  [5, 4097],          // one value into a second chunk
];

describe.each(['f32', 'f16'] as const)('%s', (dtype) => {
  const input = (n: number, seed: number, scale = 1) => (dtype === 'f16' ? roundF16(randn(n, seed, scale)) : randn(n, seed, scale));

  for (const shape of REDUCE_SHAPES) {
    gpuTest(`maxAbs / maxAbsPerSample x=[${shape}]`, async (ctx) => {
      const x = input(numel(shape), 21, 3);
      // make the extreme value negative and put it in the last element of sample 0
      const M = x.length / shape[0];
      x[M - 1] = -20;
      const tx = ctx.upload(x, shape, dtype);
      const per = maxAbsPerSample(ctx, tx), all = maxAbs(ctx, tx);
      expect(per.shape).toEqual([shape[0]]);
      expect(per.dtype).toBe('f32');
      expectClose(await ctx.read(per), maxAbsPerRowRef(x, shape[0]), EXACT);
      expect(Array.from(await ctx.read(all))).toEqual([20]);
      ctx.release(tx, per, all);
    });
  }

  gpuTest('maxAbs propagates NaN (only to its own sample) and handles inf', async (ctx) => {
    const shape = [4, 3000];
    const x = input(numel(shape), 22);
    x[1 * 3000 + 2999] = NaN;       // sample 1, last element
    x[2 * 3000 + 5] = -Infinity;    // sample 2
    x[3 * 3000 + 100] = NaN; x[3 * 3000 + 101] = Infinity;
    const tx = ctx.upload(x, shape, dtype);
    const per = await ctx.read(maxAbsPerSample(ctx, tx));
    expect(Number.isFinite(per[0])).toBe(true);
    expect(per[0]).toBe(maxAbsPerRowRef(x.subarray(0, 3000), 1)[0]);
    expect(per[1]).toBeNaN();
    expect(per[2]).toBe(Infinity);
    expect(per[3]).toBeNaN();
    expect((await ctx.read(maxAbs(ctx, tx)))[0]).toBeNaN();
    const zeros = await ctx.read(maxAbs(ctx, ctx.upload(new Float32Array(10).fill(-0), [10], dtype)));
    expect(Object.is(zeros[0], 0)).toBe(true);
  });

  gpuTest('slice0 / concat0: batch split and merge (copy path and unaligned kernel path)', async (ctx) => {
    for (const rest of [[4, 8, 8], [3, 7, 13], [1]]) {  // f16 rows of 3*7*13 or 1 value are not 4-byte multiples
      const shape = [5, ...rest], row = numel(rest);
      const x = input(numel(shape), 23);
      const tx = ctx.upload(x, shape, dtype);
      for (const [start, count] of [[0, 5], [1, 2], [3, 1], [4, 1]]) {
        const y = slice0(ctx, tx, start, count);
        expect(y.shape).toEqual([count, ...rest]);
        expectClose(await ctx.read(y), slice0Ref(x, 5, start, count), EXACT, `slice0 rest=[${rest}] ${start}+${count}`);
      }
      const parts = [[0, 1], [1, 3], [4, 1]].map(([s, c]) => slice0(ctx, tx, s, c));
      const back = concat0(ctx, [parts[1], parts[0], parts[2]]);
      expect(back.shape).toEqual(shape);
      const want = concat0Ref([x.subarray(row, 4 * row), x.subarray(0, row), x.subarray(4 * row)]);
      expectClose(await ctx.read(back), want, EXACT, `concat0 rest=[${rest}]`);
    }
  });

  gpuTest('fill', async (ctx) => {
    for (const [shape, v] of [[[2, 4, 64, 64], 0.5], [[3, 5], -1.25], [[1], 0]] as const) {
      const y = fill(ctx, shape, v, dtype);
      expect(y.dtype).toBe(dtype);
      expectClose(await ctx.read(y), fillRef(numel(shape), v), EXACT);
    }
  });
});

gpuTest('tensor_ops: shape checks', async (ctx) => {
  const x = ctx.alloc([3, 2]);
  expect(() => slice0(ctx, x, 2, 2)).toThrow(/outside/);
  expect(() => concat0(ctx, [x, ctx.alloc([1, 3])])).toThrow(/does not match/);
  expect(() => concat0(ctx, [x, ctx.alloc([1, 2], 'f16')])).toThrow(/dtypes differ/);
});
