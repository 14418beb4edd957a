// GEGLU input gradient: the float64 reference against central differences of the float64
// forward, then the kernel against the reference in f32 and f16 at the SD 1.4 feed-forward shape
// (320 channels -> 2 x 1280, tokens of a 16x16 level, batch 2) and awkward ones.
import { describe, expect, test } from 'vitest';
import { geglu } from '../../src/kernels/geglu.js';
import { gegluBackward } from '../../src/kernels/geglu_backward.js';
import { gegluBackwardRef, gegluRef64 } from '../../src/kernels/reference/geglu_backward.js';
import { gpuTest } from '../helpers/gpu.js';
import { expectClose, F16_TOL, F32_TOL, randn, roundF16 } from '../helpers/numeric.js';
import { expectFd, fdError } from '../style/fd.js';

describe('reference vs finite differences (float64)', () => {
  for (const [rows, F] of [[3, 7], [1, 64]] as const) {
    test(`rows=${rows} F=${F}`, () => {
      const x = randn(rows * 2 * F, 1, 2), dy = randn(rows * F, 2);
      expectFd(fdError((v) => gegluRef64(v, F), x, dy, gegluBackwardRef(x, dy, F), 3), 1e-8, 'geglu_backward reference');
    });
  }
});

describe('GPU vs reference', () => {
  for (const shape of [[2, 256, 2560], [3, 7, 26], [1, 77, 2]] as const) {
    gpuTest(`x=[${shape}]`, async (ctx) => {
      const F = shape[2] / 2, n = shape[0] * shape[1] * shape[2];
      const x = roundF16(randn(n, 4, 2)), dy = roundF16(randn(n / 2, 5));
      const dyShape = [shape[0], shape[1], F];
      const ref = gegluBackwardRef(x, dy, F);
      for (const dtype of ctx.hasF16 ? ['f32', 'f16'] as const : ['f32'] as const) {
        const tx = ctx.upload(x, shape, dtype);
        const dx = gegluBackward(ctx, tx, ctx.upload(dy, dyShape, dtype));
        expect(dx.shape).toEqual(shape);
        expectClose(await ctx.read(dx), ref, dtype === 'f32' ? F32_TOL : F16_TOL, dtype);
        // the forward this differentiates is the engine's kernel
        if (dtype === 'f32') expectClose(await ctx.read(geglu(ctx, tx)), gegluRef64(x, F), F32_TOL, 'forward');
      }
    });
  }
  gpuTest('shape errors name the tensor', async (ctx) => {
    expect(() => gegluBackward(ctx, ctx.alloc([2, 3, 8]), ctx.alloc([2, 3, 5]))).toThrow(/dy \[2, ?3, ?5\]/);
    expect(() => gegluBackward(ctx, ctx.alloc([2, 3, 7]), ctx.alloc([2, 3, 3]))).toThrow(/even/);
  });
});
