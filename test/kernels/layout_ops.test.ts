// layer_norm, geglu, transpose, upsample_nearest, concat against their CPU references.
import { describe, expect, test } from 'vitest';
import { concatChannels } from '../../src/kernels/concat.js';
import { geglu } from '../../src/kernels/geglu.js';
import { layerNorm, layerNormSizes } from '../../src/kernels/layer_norm.js';
import { concatChannelsRef } from '../../src/kernels/reference/concat.js';
import { gegluRef } from '../../src/kernels/reference/geglu.js';
import { layerNormRef } from '../../src/kernels/reference/layer_norm.js';
import { transposeRef } from '../../src/kernels/reference/transpose.js';
import { nearestIndexRef, upsampleNearestRef } from '../../src/kernels/reference/upsample_nearest.js';
import { transpose } from '../../src/kernels/transpose.js';
import { upsampleNearest } from '../../src/kernels/upsample_nearest.js';
import { CONCAT_CASES, GEGLU_CASES, LAYER_NORM_CASES, TRANSPOSE_CASES, UPSAMPLE_CASES } from '../cases/layout_ops.js';
import { gpuTest } from '../helpers/gpu.js';
import { expectClose, F16_TOL, F32_TOL, randn, roundF16 } from '../helpers/numeric.js';

const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const EXACT = { atol: 0, rtol: 0, maxNmse: 0 };

describe.each(['f32', 'f16'] as const)('%s', (dtype) => {
  const tol = dtype === 'f32' ? F32_TOL : F16_TOL;
  const input = (n: number, seed: number, scale = 1) => (dtype === 'f16' ? roundF16(randn(n, seed, scale)) : randn(n, seed, scale));

  for (const c of LAYER_NORM_CASES) {
    // the adapter's default sizes, the other adapter kind's sizes, and the scalar kernel
    for (const [name, tuning] of [['default', {}], ['gpu sizes', layerNormSizes(false)], ['cpu sizes scalar', { ...layerNormSizes(true), scalar: true }]] as const) {
      if (name !== 'default' && numel(c.shape) > 1_000_000) continue;
      gpuTest(`layer_norm x=[${c.shape}] eps=${c.eps} ${name}`, async (ctx) => {
        const C = c.shape[c.shape.length - 1];
        const x = input(numel(c.shape), 5, 2).map((v, i) => v + (i % 3)); // non-zero row means
        const gamma = input(C, 6, 0.25).map((v) => 1 + v), beta = input(C, 7, 0.1);
        const y = layerNorm(ctx, ctx.upload(x, c.shape, dtype), ctx.upload(gamma, [C], dtype), ctx.upload(beta, [C], dtype), c.eps, tuning);
        expect(y.shape).toEqual(c.shape);
        expectClose(await ctx.read(y), layerNormRef(x, C, gamma, beta, c.eps), tol);
      });
    }
  }

  for (const shape of GEGLU_CASES) {
    gpuTest(`geglu x=[${shape}]`, async (ctx) => {
      const x = input(numel(shape), 8, 2);
      const y = geglu(ctx, ctx.upload(x, shape, dtype));
      expect(y.shape).toEqual([...shape.slice(0, -1), shape[shape.length - 1] / 2]);
      expectClose(await ctx.read(y), gegluRef(x, shape[shape.length - 1] / 2), tol);
    });
  }

  for (const shape of TRANSPOSE_CASES) {
    gpuTest(`transpose x=[${shape}]`, async (ctx) => {
      const [B, R, C] = shape;
      const x = input(numel(shape), 9);
      const y = transpose(ctx, ctx.upload(x, shape, dtype));
      expect(y.shape).toEqual([B, C, R]);
      expectClose(await ctx.read(y), transposeRef(x, B, R, C), EXACT);
    });
  }

  for (const c of UPSAMPLE_CASES) {
    gpuTest(`upsample_nearest x=[${c.shape}] -> ${c.out[0]}x${c.out[1]}`, async (ctx) => {
      const x = input(numel(c.shape), 10);
      const y = upsampleNearest(ctx, ctx.upload(x, c.shape, dtype), ...c.out);
      expect(y.shape).toEqual([c.shape[0], c.shape[1], ...c.out]);
      expectClose(await ctx.read(y), upsampleNearestRef(x, c.shape, ...c.out), EXACT);
    });
  }

  for (const c of CONCAT_CASES) {
    gpuTest(`concat a=[${c.a}] b=[${c.b}]`, async (ctx) => {
      const a = input(numel(c.a), 11), b = input(numel(c.b), 12);
      const y = concatChannels(ctx, ctx.upload(a, c.a, dtype), ctx.upload(b, c.b, dtype));
      expect(y.shape).toEqual([c.a[0], c.a[1] + c.b[1], c.a[2], c.a[3]]);
      expectClose(await ctx.read(y), concatChannelsRef(a, b, c.a[0]), EXACT);
    });
  }
});

describe('reference checks', () => {
  test('nearest index: PyTorch float32 formula, not exact floor(i*in/out)', () => {
    expect(nearestIndexRef(23, 14, 46)).toBe(6);           // floor(23*14/46) = 7
    expect([...Array(13).keys()].map((i) => nearestIndexRef(i, 7, 13))).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6]);
    expect(nearestIndexRef(5, 4, 8)).toBe(2);
  });
});

gpuTest('layer_norm: f16 activations with f32 gamma/beta; shape checks', async (ctx) => {
  const x = roundF16(randn(2 * 40, 13)), gamma = randn(40, 14), beta = randn(40, 15);
  const y = layerNorm(ctx, ctx.upload(x, [2, 40], 'f16'), ctx.upload(gamma, [40]), ctx.upload(beta, [40]));
  expectClose(await ctx.read(y), layerNormRef(x, 40, gamma, beta, 1e-5), F16_TOL);
  expect(() => layerNorm(ctx, ctx.alloc([2, 40]), ctx.alloc([39]), ctx.alloc([40]))).toThrow(/C=40/);
  expect(() => geglu(ctx, ctx.alloc([2, 5]))).toThrow(/even/);
  expect(() => concatChannels(ctx, ctx.alloc([1, 2, 3, 3]), ctx.alloc([1, 2, 3, 4]))).toThrow(/differ outside dim 1/);
});
