import { expect, test } from 'vitest';
import { boxMask, freeFormMask } from '../../src/quality/masks.js';
import { featureStats, frechetDistance, psnr, ssim, symmetricEigen } from '../../src/quality/metrics.js';
import { Rng } from '../../src/util/rng.js';

test('PSNR of a constant offset has the closed form 10 log10(1 / d^2)', () => {
  const a = new Float32Array(3 * 16).fill(0), b = new Float32Array(3 * 16).fill(0.2); // 0.1 in [0,1] units
  expect(psnr(a, b, 3, 4, 4)).toBeCloseTo(20, 5);
  expect(psnr(a, a, 3, 4, 4)).toBe(Infinity);
  const w = new Float32Array(16); w[3] = 1;
  const c = Float32Array.from(b); c[3] = 0; c[19] = 0; c[35] = 0;
  expect(psnr(a, c, 3, 4, 4, w)).toBe(Infinity);                     // only the weighted pixel counts
});

test('SSIM is 1 for identical images and follows 2 var / (2 var + noise var) under additive noise', () => {
  const r = new Rng(1), n = 3 * 32 * 32;
  const a = r.uniforms(n, -1, 1);
  expect(ssim(a, a, 3, 32, 32)).toBeCloseTo(1, 10);
  const noisy = a.map((v) => v + 0.2 * r.normal());
  // i.i.d. uniform pixels (variance 1/12 in [0,1] units) plus noise of std 0.1: the structure term
  // dominates, SSIM ~ 2 (1/12) / (2/12 + 0.01) = 0.943
  expect(ssim(a, noisy, 3, 32, 32)).toBeCloseTo(2 / 12 / (2 / 12 + 0.01), 1);
});

test('Jacobi eigen-decomposition reconstructs a symmetric matrix', () => {
  const n = 6, r = new Rng(2), m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) { const v = r.normal(); m[i * n + j] = v; m[j * n + i] = v; }
  const { values, vectors } = symmetricEigen(m, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let k = 0; k < n; k++) s += vectors[i * n + k] * values[k] * vectors[j * n + k];
    expect(s).toBeCloseTo(m[i * n + j], 9);
  }
});

test('Fréchet distance matches the closed form for diagonal covariances', () => {
  const dim = 4;
  const g = (mu: number[], s: number[]) => ({ mu: Float64Array.from(mu), sigma: Float64Array.from({ length: dim * dim }, (_, i) => (i % (dim + 1) === 0 ? s[i / (dim + 1)]! : 0)) });
  const a = g([0, 1, 2, 3], [1, 2, 3, 4]), b = g([1, 1, 0, 3], [4, 2, 1, 1]);
  let want = 1 + 4;
  [[1, 4], [2, 2], [3, 1], [4, 1]].forEach(([s1, s2]) => { want += s1! + s2! - 2 * Math.sqrt(s1! * s2!); });
  expect(frechetDistance(a, b, dim)).toBeCloseTo(want, 9);
  expect(frechetDistance(a, a, dim)).toBeCloseTo(0, 9);
});

test('feature statistics: mean and unbiased covariance', () => {
  const f = Float32Array.from([1, 2, 3, 4, 5, 9]); // rows (1,2) (3,4) (5,9)
  const { mu, sigma } = featureStats(f, 3, 2);
  expect(Array.from(mu)).toEqual([3, 5]);
  expect(sigma[0]).toBeCloseTo(4, 12); expect(sigma[1]).toBeCloseTo(7, 12); expect(sigma[3]).toBeCloseTo(13, 12);
});

test('masks: box covers 25%, free-form 10-40%, both seeded', () => {
  for (let s = 0; s < 20; s++) {
    const box = boxMask(32, 32, s), ff = freeFormMask(32, 32, s);
    const hole = (m: Float32Array) => m.filter((v) => v === 0).length / m.length;
    expect(hole(box)).toBeGreaterThan(0.2); expect(hole(box)).toBeLessThan(0.3);
    expect(hole(ff)).toBeGreaterThanOrEqual(0.1 - 1e-9); expect(hole(ff)).toBeLessThan(0.45);
    expect(Array.from(boxMask(32, 32, s))).toEqual(Array.from(box));
  }
});
