// keepKnown: known pixels copied exactly, the seam correction closed-form, nothing of the hole's
// original content used; the distance transform and blur against brute force.
import { describe, expect, test } from 'vitest';
import { distanceToKnown, gaussianBlur, keepKnown } from '../../src/pipeline/keep_known.js';
import { Rng } from '../../src/util/rng.js';

const H = 13, W = 17;

function randomMask(seed: number, pKnown: number): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: H * W }, () => (r.uniform() < pKnown ? 1 : 0));
}

describe('helpers vs brute force', () => {
  test('distanceToKnown is the exact Euclidean distance to the nearest known pixel', () => {
    for (const [seed, p] of [[1, 0.05], [2, 0.3], [3, 0.9]] as const) {
      const m = randomMask(seed, p);
      const d = distanceToKnown(m, H, W);
      for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
        let best = Infinity;
        for (let v = 0; v < H; v++) for (let u = 0; u < W; u++) if (m[v * W + u]) best = Math.min(best, Math.hypot(u - x, v - y));
        expect(d[y * W + x]).toBeCloseTo(best, 5);
      }
    }
    expect([...distanceToKnown(new Float32Array(H * W), H, W)].every((v) => v === Infinity)).toBe(true);
  });

  test('gaussianBlur equals the direct 2-D sum (zero outside)', () => {
    const r = new Rng(4), x = Float32Array.from({ length: H * W }, () => r.uniform());
    const sigma = 1.5, R = Math.ceil(3 * sigma), b = gaussianBlur(x, H, W, sigma);
    for (let y = 0; y < H; y++) for (let u = 0; u < W; u++) {
      let s = 0;
      for (let dy = -R; dy <= R; dy++) for (let dx = -R; dx <= R; dx++) {
        const yy = y + dy, xx = u + dx;
        if (yy >= 0 && yy < H && xx >= 0 && xx < W) s += Math.exp(-(dx * dx + dy * dy) / (2 * sigma * sigma)) * x[yy * W + xx]!;
      }
      expect(b[y * W + u]).toBeCloseTo(s, 4);
    }
  });
});

describe('keepKnown', () => {
  const C = 3, shape = [2, C, H, W] as const, px = H * W;
  const r = new Rng(9);
  const image = Float32Array.from({ length: 2 * C * px }, () => r.uniform() * 2 - 1);
  const box = Float32Array.from({ length: px }, (_, i) => { const x = i % W, y = Math.floor(i / W); return x >= 4 && x < 12 && y >= 3 && y < 10 ? 0 : 1; });
  const mask = new Float32Array([...box, ...randomMask(5, 0.6)]);

  test('known pixels are the input exactly; a hard paste (feather 0) leaves the hole as the result', () => {
    const result = Float32Array.from(image, (v, i) => v + 0.3 * Math.sin(i));
    const out = keepKnown(result, image, mask, shape, { feather: 0 });
    for (let n = 0; n < 2; n++) for (let c = 0; c < C; c++) for (let i = 0; i < px; i++) {
      const j = (n * C + c) * px + i;
      expect(out[j]).toBe(mask[n * px + i] ? image[j] : result[j]);
    }
  });

  test('a result off by a constant c: hole = image + c (1 - fade(d)), fade(d) = max(0, 1 - d / (feather + 1))', () => {
    const c0 = 0.25, feather = 3;
    const result = Float32Array.from(image, (v) => v + c0);
    const out = keepKnown(result, image, mask, shape, { feather });
    for (let n = 0; n < 2; n++) {
      const d = distanceToKnown(mask.subarray(n * px, (n + 1) * px), H, W);
      for (let c = 0; c < C; c++) for (let i = 0; i < px; i++) {
        const j = (n * C + c) * px + i, fade = Math.max(0, 1 - d[i]! / (feather + 1));
        expect(out[j]).toBeCloseTo(image[j]! + c0 * (1 - fade), 5);
      }
    }
  });

  test('the hole content of the input never reaches the output', () => {
    const result = Float32Array.from(image, (v, i) => v + 0.3 * Math.cos(i));
    const other = image.slice();
    for (let n = 0; n < 2; n++) for (let c = 0; c < C; c++) for (let i = 0; i < px; i++) if (!mask[n * px + i]) other[(n * C + c) * px + i] = 5;
    expect(keepKnown(result, other, mask, shape, { feather: 4 })).toEqual(keepKnown(result, image, mask, shape, { feather: 4 }));
  });

  test('sizes are checked', () => {
    expect(() => keepKnown(image, image, mask.subarray(1), shape, { feather: 1 })).toThrow(/mask of/);
    expect(() => keepKnown(image, image, mask, shape, { feather: -1 })).toThrow(/feather/);
  });
});
