// layer_norm_backward.ts (written for CLIP) at the UNet transformer's shapes and in f16: the
// norm1/2/3 of BasicTransformerBlock over 320 / 640 / 1280 channels, tokens of a level at batch 2,
// with the residual gradient in the epilogue. The reference is checked by central differences
// here too (test/style/backward_kernels.test.ts covers CLIP's 768).
import { describe, expect, test } from 'vitest';
import { layerNormBackward } from '../../src/kernels/layer_norm_backward.js';
import { layerNormBackwardRef, layerNormRef64 } from '../../src/kernels/reference/layer_norm_backward.js';
import { gpuTest } from '../helpers/gpu.js';
import { expectClose, F16_TOL, F32_TOL, randn, roundF16 } from '../helpers/numeric.js';
import { expectFd, fdError } from '../style/fd.js';

function inputs(rows: number, C: number, seed: number) {
  return {
    x: roundF16(randn(rows * C, seed, 2).map((v) => v + 0.5)), gamma: roundF16(randn(C, seed + 1, 0.3).map((v) => 1 + v)),
    beta: roundF16(randn(C, seed + 2)), dy: roundF16(randn(rows * C, seed + 3)), acc: roundF16(randn(rows * C, seed + 4)),
  };
}

test('reference vs finite differences (float64), C=40', () => {
  const { x, gamma, beta, dy } = inputs(5, 40, 1);
  expectFd(fdError((v) => layerNormRef64(v, 40, gamma, beta, 1e-5), x, dy, layerNormBackwardRef(x, dy, 40, gamma, 1e-5), 2), 1e-8, 'layer_norm_backward reference');
});

describe('GPU vs reference at UNet shapes', () => {
  for (const [rows, C, acc] of [[512, 320, true], [128, 640, false], [2 * 64, 1280, true], [77, 33, true]] as const) {
    gpuTest(`rows=${rows} C=${C} acc=${acc}`, async (ctx) => {
      const d = inputs(rows, C, 10);
      const ref = layerNormBackwardRef(d.x, d.dy, C, d.gamma, 1e-5, acc ? d.acc : null);
      for (const dtype of ctx.hasF16 ? ['f32', 'f16'] as const : ['f32'] as const) {
        const up = (a: Float32Array, s: number[]) => ctx.upload(a, s, dtype);
        const dx = layerNormBackward(ctx, up(d.x, [rows, C]), up(d.dy, [rows, C]), up(d.gamma, [C]), 1e-5,
          acc ? up(d.acc, [rows, C]) : undefined);
        expect(dx.dtype).toBe(dtype);
        expectClose(await ctx.read(dx), ref, dtype === 'f32' ? F32_TOL : F16_TOL, dtype);
      }
    });
  }
  gpuTest('f16 activations with f32 gamma', async (ctx) => {
    if (!ctx.hasF16) return;
    const d = inputs(64, 320, 20);
    const dx = layerNormBackward(ctx, ctx.upload(d.x, [64, 320], 'f16'), ctx.upload(d.dy, [64, 320], 'f16'), ctx.upload(d.gamma, [320]));
    expectClose(await ctx.read(dx), layerNormBackwardRef(d.x, d.dy, 320, d.gamma, 1e-5), F16_TOL);
  });
});
