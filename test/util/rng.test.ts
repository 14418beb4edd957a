import { expect, test } from 'vitest';
import { Rng } from '../../src/util/rng.js';

test('xoshiro128** seeded by splitmix32 matches the C reference implementation', () => {
  // Values printed by Vigna's reference xoshiro128** (prng.di.unimi.it/xoshiro128starstar.c)
  // compiled with gcc, state seeded by four splitmix32 outputs from 12345 (see docs/noise.md).
  const r = new Rng(12345);
  expect(Array.from({ length: 6 }, () => r.nextU32())).toEqual([518667457, 440444462, 4232892992, 3757857622, 3939018813, 1334683535]);
});

test('normals have mean 0 and variance 1 (Box-Muller), uniforms lie in [0, 1)', () => {
  const x = new Rng(7).normals(200_000);
  const mean = x.reduce((a, b) => a + b, 0) / x.length;
  const varc = x.reduce((a, b) => a + (b - mean) ** 2, 0) / x.length;
  expect(Math.abs(mean)).toBeLessThan(0.01);
  expect(Math.abs(varc - 1)).toBeLessThan(0.01);
  const u = new Rng(8).uniforms(10_000);
  expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
  expect(Math.max(...u)).toBeLessThan(1);
});

test('bad seeds are refused with a clear message', () => {
  expect(() => new Rng(-1)).toThrow(/seed must be an integer/);
  expect(() => new Rng(1.5)).toThrow(/seed must be an integer/);
});
