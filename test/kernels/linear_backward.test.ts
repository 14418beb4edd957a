// linear_backward.ts (dx = dy W, written for CLIP) at the UNet transformer's projections and in
// f16, on every matmul variant this adapter has: to_q / to_k / to_v / to_out.0 (C x C), the
// feed-forward's GEGLU projection (320 -> 2560) and its output (1280 -> 320), with the residual
// gradient in the epilogue. (Cross-attention's to_k / to_v read the constant text context: no
// dx.) The reference is checked by central differences here too.
import { beforeAll, describe, expect, test } from 'vitest';
import { linearBackward } from '../../src/kernels/linear_backward.js';
import { matmulVariants } from '../../src/kernels/matmul.js';
import { setAutoTune } from '../../src/kernels/select_variant.js';
import { linearBackwardRef, linearRef64 } from '../../src/kernels/reference/linear_backward.js';
import { gpuTest } from '../helpers/gpu.js';
import { expectClose, F16_TOL, F32_TOL, randn, roundF16 } from '../helpers/numeric.js';
import { expectFd, fdError } from '../style/fd.js';

beforeAll(() => setAutoTune(false));

test('reference vs finite differences (float64)', () => {
  const M = 6, K = 9, N = 5, x = randn(M * K, 1), w = randn(N * K, 2), dy = randn(M * N, 3);
  expectFd(fdError((v) => linearRef64(v, w, null, M, K, N), x, dy, linearBackwardRef(dy, w, M, K, N), 4), 1e-8, 'linear_backward reference');
});

describe('GPU vs reference at UNet shapes', () => {
  for (const [M, K, Nout, acc, note] of [
    [512, 320, 320, true, 'to_q / to_out.0 at 320 ch, 2 x 256 tokens'],
    [128, 320, 2560, false, 'ff.net.0.proj (GEGLU, 320 -> 2 x 1280)'],
    [128, 1280, 320, true, 'ff.net.2 (1280 -> 320)'],
    [64, 1280, 1280, false, '8x8 level, 1280 ch'],
    [37, 45, 29, true, 'awkward'],
  ] as const) {
    gpuTest(`${note}: M=${M} in=${K} out=${Nout} acc=${acc}`, async (ctx) => {
      const w = roundF16(randn(Nout * K, 5, 0.05)), dy = roundF16(randn(M * Nout, 6)), a = roundF16(randn(M * K, 7));
      const ref = linearBackwardRef(dy, w, M, K, Nout, acc ? a : null);
      for (const dtype of ctx.hasF16 ? ['f32', 'f16'] as const : ['f32'] as const) {
        for (const variant of matmulVariants(ctx)) {
          const dx = linearBackward(ctx, ctx.upload(dy, [M, Nout], dtype), ctx.upload(w, [Nout, K], dtype),
            acc ? ctx.upload(a, [M, K], dtype) : undefined, variant);
          expect(dx.shape).toEqual([M, K]);
          expectClose(await ctx.read(dx), ref, dtype === 'f32' ? F32_TOL : F16_TOL, `${dtype} ${variant}`);
          ctx.release(dx);
        }
      }
    });
  }
});
