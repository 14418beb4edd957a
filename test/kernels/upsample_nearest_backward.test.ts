// Nearest 2x upsample input gradient (2x2 block sums): the float64 reference against central
// differences of the float64 forward, then the kernel against it in f32 and f16 at SD 1.4's
// upsampler inputs (1280 channels at 8x8, 640 at 32x32 scaled down) and awkward sizes.
import { describe, expect, test } from 'vitest';
import { upsampleNearestBackward } from '../../src/kernels/upsample_nearest_backward.js';
import { upsampleNearestBackwardRef, upsampleNearestRef64 } from '../../src/kernels/reference/upsample_nearest_backward.js';
import { gpuTest } from '../helpers/gpu.js';
import { expectClose, F16_TOL, F32_TOL, randn, roundF16 } from '../helpers/numeric.js';
import { expectFd, fdError } from '../style/fd.js';

describe('reference vs finite differences (float64)', () => {
  for (const [shape, oh, ow] of [[[2, 3, 4, 5], 8, 10], [[1, 2, 3, 3], 7, 5]] as const) {
    test(`[${shape}] -> ${oh}x${ow}`, () => {
      const n = shape.reduce((a: number, b: number) => a * b, 1), x = randn(n, 1), dy = randn(shape[0] * shape[1] * oh * ow, 2);
      const r = fdError((v) => upsampleNearestRef64(v, shape, oh, ow), x, dy, upsampleNearestBackwardRef(dy, shape, oh, ow), 3);
      expectFd(r, 1e-8, 'upsample_nearest_backward reference');
    });
  }
});

describe('GPU vs reference', () => {
  for (const shape of [[2, 1280, 8, 8], [1, 640, 16, 16], [3, 5, 7, 9]] as const) {
    gpuTest(`dx=[${shape}]`, async (ctx) => {
      const [N, C, H, W] = shape;
      const dy = roundF16(randn(N * C * 4 * H * W, 4));
      const ref = upsampleNearestBackwardRef(dy, shape, 2 * H, 2 * W);
      for (const dtype of ctx.hasF16 ? ['f32', 'f16'] as const : ['f32'] as const) {
        const dx = upsampleNearestBackward(ctx, ctx.upload(dy, [N, C, 2 * H, 2 * W], dtype));
        expect(dx.shape).toEqual(shape);
        expectClose(await ctx.read(dx), ref, dtype === 'f32' ? F32_TOL : F16_TOL, dtype);
      }
    });
  }
  gpuTest('refuses anything but exact 2x', async (ctx) => {
    expect(() => upsampleNearestBackward(ctx, ctx.alloc([1, 2, 5, 4]))).toThrow(/dy must be \[N, C, 2H, 2W\]/);
  });
});
