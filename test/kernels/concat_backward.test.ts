// Channel concat input gradient (split of dy): the float64 reference against central differences
// of the float64 forward, then the GPU split against it in f32 and f16 at the UNet up path's
// concatenations (1280 + 640 at 16x16) and awkward ones (odd f16 runs: the copy_range kernel path).
import { describe, expect, test } from 'vitest';
import { splitChannels } from '../../src/kernels/concat_backward.js';
import { concatChannelsRef64, splitChannelsRef } from '../../src/kernels/reference/concat_backward.js';
import { gpuTest } from '../helpers/gpu.js';
import { expectClose, randn } from '../helpers/numeric.js';
import { expectFd, fdError } from '../style/fd.js';

const EXACT = { atol: 0, rtol: 0 };

describe('reference vs finite differences (float64)', () => {
  test('N=2, Ca*HW=6, Cb*HW=9', () => {
    const N = 2, sa = 6, sb = 9, x = randn(N * (sa + sb), 1), dy = randn(N * (sa + sb), 2);
    const [da, db] = splitChannelsRef(dy, N, sa, sb);
    const g = new Float64Array([...da, ...db]);
    expectFd(fdError((v) => concatChannelsRef64(v, N, sa, sb), x, dy, g, 3), 1e-8, 'split reference');
  });
});

describe('GPU vs reference', () => {
  for (const [N, Ca, Cb, H, W] of [[2, 1280, 640, 16, 16], [1, 3, 5, 3, 3], [3, 1, 2, 1, 7]] as const) {
    gpuTest(`N=${N} Ca=${Ca} Cb=${Cb} ${H}x${W}`, async (ctx) => {
      const HW = H * W, dy = randn(N * (Ca + Cb) * HW, 4);
      const [ra, rb] = splitChannelsRef(dy, N, Ca * HW, Cb * HW);
      for (const dtype of ctx.hasF16 ? ['f32', 'f16'] as const : ['f32'] as const) {
        // f16: compare the values the upload rounded to (the split itself is exact)
        const t = ctx.upload(dy, [N, Ca + Cb, H, W], dtype), rounded = await ctx.read(t);
        const [wa, wb] = dtype === 'f32' ? [ra, rb] : splitChannelsRef(rounded, N, Ca * HW, Cb * HW);
        const [da, db] = splitChannels(ctx, t, Ca);
        expect(da.shape).toEqual([N, Ca, H, W]);
        expect(db.shape).toEqual([N, Cb, H, W]);
        expectClose(await ctx.read(da), wa, EXACT, `${dtype} a`);
        expectClose(await ctx.read(db), wb, EXACT, `${dtype} b`);
      }
    });
  }
  gpuTest('shape errors name the tensor', async (ctx) => {
    expect(() => splitChannels(ctx, ctx.alloc([2, 4, 3]), 1)).toThrow(/dy must be/);
    expect(() => splitChannels(ctx, ctx.alloc([2, 4, 3, 3]), 4)).toThrow(/cannot split 4 channels/);
  });
});
