import { describe, expect, test } from 'vitest';
import { softmax } from '../../src/kernels/softmax.js';
import { softmaxRef } from '../../src/kernels/reference/softmax.js';
import { gpuTest } from '../helpers/gpu.js';
import { expectClose, F16_TOL, F32_TOL, randn, roundF16 } from '../helpers/numeric.js';

const CASES: { shape: number[]; scale?: number }[] = [
  { shape: [2, 12, 77, 77] },           // CLIP attention scores
  { shape: [8, 197] },                  // ViT-style length
  { shape: [2, 4096] },                 // a 64x64 latent's keys
  { shape: [3, 5, 1] },                 // L = 1 -> all ones
  { shape: [70000, 3] },                // rows over 65535: 2-D grid
  { shape: [4, 300], scale: 1000 },     // huge logits: the max must be subtracted
];

describe.each(['f32', 'f16'] as const)('softmax %s', (dtype) => {
  for (const c of CASES) {
    gpuTest(`x=[${c.shape}]${c.scale ? ` scale ${c.scale}` : ''}`, async (ctx) => {
      if (dtype === 'f16' && !ctx.hasF16) throw new Error('adapter lacks shader-f16, which the f16 path requires');
      const L = c.shape[c.shape.length - 1], n = c.shape.reduce((a, b) => a * b, 1);
      // f16 cannot hold 1000-scaled logits beyond 65504: scale them less there.
      let x = randn(n, L + n, dtype === 'f16' && c.scale ? 20 : c.scale ?? 3);
      if (dtype === 'f16') x = roundF16(x);
      const tx = ctx.upload(x, c.shape, dtype);
      const y = softmax(ctx, tx);
      const got = await ctx.read(y);
      expectClose(got, softmaxRef(x, L), dtype === 'f32' ? F32_TOL : F16_TOL);
      expect(got.every(Number.isFinite)).toBe(true);
      ctx.release(tx, y);
    });
  }
});

test('softmax reference: rows sum to 1, shift invariant', () => {
  const y = softmaxRef(Float32Array.from([1, 2, 3, 1001, 1002, 1003]), 3);
  expect(y[0] + y[1] + y[2]).toBeCloseTo(1, 6);
  for (let i = 0; i < 3; i++) expect(y[i]).toBeCloseTo(y[i + 3], 6);
});
