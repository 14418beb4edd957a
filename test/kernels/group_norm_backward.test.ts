// GroupNorm (+ SiLU) input gradient: the float64 reference against central differences of the
// float64 forward, then the kernel against the reference in f32 and f16 storage at SD 1.4 shapes
// (resnet norms: 32 groups of 320 / 640 / 1280 channels; the transformer's eps 1e-6) and awkward
// ones (odd H*W, a non-zero mean, one group, mixed f16 activations / f32 gamma), with both
// algorithms where they apply ('split' forced with a small, ragged chunk so it really splits).
import { describe, expect, test } from 'vitest';
import { groupNormBackward, type GroupNormBackwardAlgorithm } from '../../src/kernels/group_norm_backward.js';
import { groupNormBackwardRef, groupNormRef64, type GroupNormRefDims } from '../../src/kernels/reference/group_norm_backward.js';
import { gpuTest } from '../helpers/gpu.js';
import { expectClose, F16_TOL, F32_TOL, randn, roundF16 } from '../helpers/numeric.js';
import { expectFd, fdError } from '../style/fd.js';

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function inputs(shape: readonly number[], mean: number, seed: number) {
  const C = shape[1];
  const x = roundF16(randn(size(shape), seed, 1.5).map((v) => v + mean));
  const gamma = roundF16(randn(C, seed + 1, 0.3).map((v) => 1 + v)), beta = roundF16(randn(C, seed + 2, 0.5));
  return { x, gamma, beta, dy: roundF16(randn(size(shape), seed + 3)), acc: roundF16(randn(size(shape), seed + 4)) };
}

describe('reference vs finite differences (float64)', () => {
  for (const d of [
    { shape: [2, 6, 3, 5], groups: 3, eps: 1e-5, silu: false },
    { shape: [2, 6, 3, 5], groups: 3, eps: 1e-5, silu: true },
    { shape: [1, 4, 7, 1], groups: 1, eps: 1e-6, silu: true },
  ] as GroupNormRefDims[]) {
    test(`[${d.shape}] g=${d.groups} silu=${d.silu}`, () => {
      const { x, gamma, beta, dy } = inputs(d.shape, 0.7, 1);
      const r = fdError((v) => groupNormRef64(v, gamma, beta, d), x, dy, groupNormBackwardRef(x, dy, gamma, beta, d), 5);
      expectFd(r, 1e-8, 'group_norm_backward reference');
    });
  }
  test('dx is orthogonal to constants within each group (no SiLU)', () => {
    const d = { shape: [1, 4, 3, 3], groups: 2, eps: 1e-5, silu: false };
    const { x, gamma, beta, dy } = inputs(d.shape, 0, 6);
    const dx = groupNormBackwardRef(x, dy, gamma, beta, d);
    for (const g of [0, 1]) expect(Math.abs(dx.subarray(g * 18, g * 18 + 18).reduce((a, b) => a + b, 0))).toBeLessThan(1e-12);
  });
});

const CASES: { shape: [number, number, number, number]; groups: number; eps: number; silu: boolean; acc: boolean; mean: number; wg?: number }[] = [
  { shape: [2, 320, 16, 16], groups: 32, eps: 1e-5, silu: true, acc: false, mean: 0 },   // resnet norm1, 320 ch
  { shape: [1, 640, 8, 8], groups: 32, eps: 1e-6, silu: false, acc: true, mean: 0.5 },  // transformer norm (eps 1e-6)
  { shape: [2, 1280, 4, 4], groups: 32, eps: 1e-5, silu: true, acc: true, mean: 0 },    // 8x8-level resnet, small spatial
  { shape: [1, 96, 7, 9], groups: 32, eps: 1e-5, silu: true, acc: false, mean: 3, wg: 64 }, // odd H*W, mean 3
  { shape: [1, 5, 3, 11], groups: 1, eps: 1e-5, silu: false, acc: true, mean: -2, wg: 256 }, // one group
];

describe('GPU vs reference', () => {
  for (const c of CASES) {
    const hw4 = (c.shape[2] * c.shape[3]) % 4 === 0;
    const algs: GroupNormBackwardAlgorithm[] = hw4 ? ['single', 'split'] : ['single'];
    gpuTest(`[${c.shape}] g=${c.groups} eps=${c.eps} silu=${c.silu} acc=${c.acc} mean=${c.mean}${c.wg ? ` wg=${c.wg}` : ''} (${algs})`, async (ctx) => {
      const { x, gamma, beta, dy, acc } = inputs(c.shape, c.mean, 10);
      const ref = groupNormBackwardRef(x, dy, gamma, beta, c, c.acc ? acc : null);
      const groupLen = (c.shape[1] / c.groups) * c.shape[2] * c.shape[3];
      for (const dtype of ctx.hasF16 ? ['f32', 'f16'] as const : ['f32'] as const) {
        const up = (a: Float32Array, s: readonly number[]) => ctx.upload(a, s, dtype);
        for (const algorithm of algs) {
          // split: about 3 chunks per group, the last one partial
          const chunk = algorithm === 'split' ? 4 * Math.ceil(groupLen / 2.6 / 4) : undefined;
          const dx = groupNormBackward(ctx, up(x, c.shape), up(dy, c.shape), up(gamma, [c.shape[1]]), up(beta, [c.shape[1]]),
            { groups: c.groups, eps: c.eps, silu: c.silu, acc: c.acc ? up(acc, c.shape) : undefined, wg: c.wg, algorithm, chunk });
          expect(dx.dtype).toBe(dtype);
          expectClose(await ctx.read(dx), ref, dtype === 'f32' ? F32_TOL : F16_TOL, `${algorithm} ${dtype}`);
        }
      }
    });
  }

  gpuTest('f16 activations with f32 gamma/beta', async (ctx) => {
    if (!ctx.hasF16) return;
    const shape = [2, 64, 5, 6] as const, d = { shape, groups: 32, eps: 1e-5, silu: true };
    const { x, gamma, beta, dy } = inputs(shape, 0, 20);
    const dx = groupNormBackward(ctx, ctx.upload(x, shape, 'f16'), ctx.upload(dy, shape, 'f16'), ctx.upload(gamma, [64]), ctx.upload(beta, [64]), d);
    expectClose(await ctx.read(dx), groupNormBackwardRef(x, dy, gamma, beta, d), F16_TOL);
  });

  gpuTest('shape errors name the tensor', async (ctx) => {
    const x = ctx.alloc([1, 6, 2, 2]), g = ctx.alloc([6]);
    expect(() => groupNormBackward(ctx, x, ctx.alloc([1, 6, 2, 3]), g, g, { groups: 3, eps: 1e-5 })).toThrow(/dy \[1, ?6, ?2, ?3\]/);
    expect(() => groupNormBackward(ctx, x, x, ctx.alloc([5]), g, { groups: 3, eps: 1e-5 })).toThrow(/gamma/);
    expect(() => groupNormBackward(ctx, x, x, g, g, { groups: 4, eps: 1e-5 })).toThrow(/not divisible/);
    expect(() => groupNormBackward(ctx, x, x, g, g, { groups: 3, eps: 1e-5, acc: ctx.alloc([6]) })).toThrow(/acc/);
    const odd = ctx.alloc([1, 6, 3, 3]);
    expect(() => groupNormBackward(ctx, odd, odd, g, g, { groups: 3, eps: 1e-5, algorithm: 'split' })).toThrow(/H\*W % 4/);
  });
});
