// Keeping what was observed (src/pipeline/keep_observed.ts): the projection of a result onto
// {x : A x = y} by CG on A Aᵀ, checked against closed forms — the host operator equals the GPU
// SeparableOperator the sampler uses; enough iterations solve A x' = y; the correction lies in
// A's row space (x' − x = Aᵀλ, so the part of x in A's null space is untouched); for an exact
// observation of a true image every iterate is at least as close to it (the projection cannot
// lower PSNR); colourisation keeps the input's luma exactly after one iteration.
import { describe, expect, test } from 'vitest';
import { keepObserved, observe } from '../../src/pipeline/keep_observed.js';
import { blurAxes, blurOperator, downscaleAxes, downscaleOperator, GREY_MATRIX } from '../../src/sampler/constraints/pixel_operators.js';
import { Rng } from '../../src/util/rng.js';
import { gpuTest } from '../helpers/gpu.js';

const N = 2, S = 16;
const shape = [N, 3, S, S] as const;
const dist = (a: Float32Array, b: Float32Array) => Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0));
const rms = (a: Float32Array, b: Float32Array) => dist(a, b) / Math.sqrt(a.length);

describe('keepObserved', () => {
  gpuTest('the host operator is the GPU operator (same matrices): downscale x4 and blur', async (ctx) => {
    const x = new Rng(1).normals(N * 3 * S * S);
    for (const [axes, op] of [[downscaleAxes(S, S, 4, 'bicubic'), downscaleOperator(ctx, S, S, 4, 'bicubic')], [blurAxes(S, S, 1.5), blurOperator(ctx, S, S, 1.5)]] as const) {
      const t = ctx.upload(x, [...shape]);
      const gpu = await ctx.read(op.forward(ctx, t));
      const host = observe(x, shape, axes).data;
      expect(host.length).toBe(gpu.length);
      expect(rms(host, gpu)).toBeLessThan(1e-6);
      ctx.release(t); op.destroy(ctx);
    }
  });

  // a blur's A Aᵀ has eigenvalues down to ~1e-19 here (a Gaussian of sigma 1.5 at Nyquist, squared, in
  // two axes): CG cannot solve it in float64, only shrink the residual — which is why the default
  // caps the iterations; the downscale's A Aᵀ is well conditioned and CG solves it
  for (const [name, axes, iters, solved] of [['downscale x4', downscaleAxes(S, S, 4, 'bicubic'), 40, 1e-6], ['blur sigma 1.5', blurAxes(S, S, 1.5), 200, 0.1]] as const) {
    test(`${name}: A x' → y; closer to the truth at every iteration count${solved < 1e-3 ? "; once solved the null-space part is untouched" : ''}`, () => {
      const truth = new Rng(2).normals(N * 3 * S * S).map((v) => 0.5 * v);
      // a sample that misses the observation: a colour cast per image and channel plus fine noise
      const noise = new Rng(5).normals(truth.length);
      const result = truth.map((v, i) => v + 0.2 * Math.cos(1 + Math.floor(i / (S * S))) + 0.1 * noise[i]!);
      const y = observe(truth, shape, axes).data;
      const full = keepObserved(result, y, shape, axes, { iterations: iters });
      expect(full.before).toBeGreaterThan(0.05);
      expect(full.after).toBeLessThan(solved * full.before);
      if (solved < 1e-3) {
        // x' - x = Aᵀλ lies in A's row space and x' - truth in its null space: orthogonal
        let cross = 0;
        for (let i = 0; i < result.length; i++) cross += (full.image[i]! - result[i]!) * (full.image[i]! - truth[i]!);
        expect(Math.abs(cross)).toBeLessThan(1e-4 * dist(full.image, result) * dist(full.image, truth));
      }
      // never farther (up to the float32 rounding of the returned image), and strictly closer after one iteration
      let prev = dist(result, truth);
      expect(dist(keepObserved(result, y, shape, axes, { iterations: 1 }).image, truth)).toBeLessThan(0.99 * prev);
      for (const k of [1, 2, 4, 8, 16]) {
        const d = dist(keepObserved(result, y, shape, axes, { iterations: k }).image, truth);
        expect(d).toBeLessThanOrEqual(prev * (1 + 1e-7));
        prev = d;
      }
      expect(keepObserved(result, y, shape, axes, { iterations: 0 }).image).toEqual(result);
    });
  }

  test('colourisation: one iteration gives the input luma exactly', () => {
    const x = new Rng(3).normals(N * 3 * S * S), colour = new Rng(4).normals(N * 3 * S * S);
    const y = observe(colour, shape, { c: GREY_MATRIX }).data;
    const { image } = keepObserved(x, y, shape, { c: GREY_MATRIX }, { iterations: 1 });
    expect(rms(observe(image, shape, { c: GREY_MATRIX }).data, y)).toBeLessThan(1e-6);
  });

  test('shape errors name what is wrong', () => {
    const axes = downscaleAxes(S, S, 4, 'bicubic');
    expect(() => keepObserved(new Float32Array(10), new Float32Array(N * 3 * 16), shape, axes, { iterations: 1 })).toThrow(/result has 10 values/);
    expect(() => keepObserved(new Float32Array(N * 3 * S * S), new Float32Array(5), shape, axes, { iterations: 1 })).toThrow(/observation has 5 values, expected 2 x 3x4x4/);
  });
});
