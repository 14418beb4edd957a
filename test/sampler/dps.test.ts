// method 'dps' (inner/dps.ts) against a float64 CPU transcription, with a closed-form denoiser
// whose Jacobian is NOT symmetric, so moving along J^T d differs from J d:
//     eps(x, t) = 0.9 silu(a_t x) - 0.3 x + 0.2 P x,    P = the [4, 64] -> [64, 4] transpose of the latent
//     J_eps^T u = (0.9 a_t silu'(a_t x) - 0.3) u + 0.2 P^T u
// (both computed on the host in the test and uploaded: the sampler's own arithmetic runs on the GPU).
import { expect } from 'vitest';
import type { GpuContext } from '../../src/gpu/context.js';
import type { GpuTensor } from '../../src/gpu/tensor.js';
import { sampleConstrained } from '../../src/sampler/constrained_sampler.js';
import { InpaintConstraint, latentMask } from '../../src/sampler/constraints/inpaint.js';
import { recordedNoise } from '../../src/sampler/noise.js';
import { learningRates, newtonTimesteps, stepScalars } from '../../src/sampler/schedule.js';
import type { SamplerSettings } from '../../src/sampler/types.js';
import { gpuTest } from '../helpers/gpu.js';
import { compare, randn } from '../helpers/numeric.js';

const shape = [1, 4, 8, 8], n = 256, C = 4, P = 64;
const aOf = (t: number) => 0.5 + t / 1000;
const sig = (z: number) => 1 / (1 + Math.exp(-z));
const perm = (x: ArrayLike<number>) => Float64Array.from({ length: n }, (_, i) => x[(i % C) * P + Math.floor(i / C)]!);    // P x
const permT = (u: ArrayLike<number>) => Float64Array.from({ length: n }, (_, i) => u[(i % P) * C + Math.floor(i / P)]!);   // P^T u
function epsCpu(x: ArrayLike<number>, t: number): Float64Array {
  const px = perm(x), a = aOf(t);
  return Float64Array.from({ length: n }, (_, i) => { const z = a * x[i]!; return 0.9 * z * sig(z) - 0.3 * x[i]! + 0.2 * px[i]!; });
}
function vjpCpu(x: ArrayLike<number>, t: number, u: ArrayLike<number>): Float64Array {
  const pu = permT(u), a = aOf(t);
  return Float64Array.from({ length: n }, (_, i) => {
    const z = a * x[i]!, s = sig(z);
    return (0.9 * a * s * (1 + z * (1 - s)) - 0.3) * u[i]! + 0.2 * pu[i]!;
  });
}

const maskLat = latentMask(new Float32Array(64 * 64).map((_, i) => (i % 64 < 32 ? 1 : 0)), 1, 64, 64, 8, 4);
const zY = randn(n, 77, 0.8);
const direction = (x0: Float64Array) => x0.map((v, i) => maskLat[i]! * (zY[i]! - v));

function referenceDps(xInit: Float32Array, zs: Float32Array[], steps: number, K: number, lr: [number, number],
                      vjp: typeof vjpCpu = vjpCpu): Float64Array {
  const { timesteps, stride } = newtonTimesteps(steps);
  const lrs = learningRates(lr, K);
  let x = Float64Array.from(xInit), result = x;
  timesteps.forEach((t, si) => {
    const s = stepScalars(t, stride);
    const x0Of = (xx: Float64Array, e: Float64Array) => xx.map((v, i) => v / s.sqrtAb - s.cEps * e[i]!);
    let eps = epsCpu(x, t), x0 = x0Of(x, eps);
    for (let k = 0; k < K; k++) {
      const d = direction(x0);
      const g = x0Of(d, vjp(x, t, d));                                 // (d x0 / d x_t)^T d
      const m = g.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
      x = x.map((v, i) => v + lrs[k]! * g[i]! / m);
      eps = epsCpu(x, t); x0 = x0Of(x, eps);
    }
    x = x0.map((v, i) => s.sqrtAbPrev * v + s.cDir * eps[i]! + s.sqrtBt * zs[si]![i]!);
    result = x0;
  });
  return result;
}

gpuTest('dps equals its float64 transcription (non-symmetric Jacobian); 1 + 2K evaluations per step', async (ctx: GpuContext) => {
  const steps = 5, K = 3, lr: [number, number] = [0.5, 0.1];
  const xInit = randn(n, 1), zs = Array.from({ length: steps }, (_, s) => randn(n, 100 + s));
  const zFlat = new Float32Array(steps * n);
  zs.forEach((z, s) => zFlat.set(z, s * n));
  const host = async (x: GpuTensor, f: (xs: Float32Array) => Float64Array) => ctx.upload(Float32Array.from(f(await ctx.read(x))), shape);
  const settings: SamplerSettings = { steps, K, lr, h: 0.005, schedule: 'exact', method: 'dps' };
  const { latent, evals } = await sampleConstrained(ctx, {
    denoise: (x, t) => host(x, (xs) => epsCpu(xs, t)),
    denoiseVjp: async (x, t, u) => { const us = await ctx.read(u); return host(x, (xs) => vjpCpu(xs, t, us)); },
    constraint: new InpaintConstraint(ctx.upload(zY, shape), ctx.upload(maskLat, shape)),
    noise: recordedNoise(xInit, zFlat, steps), latentShape: shape, settings,
  });
  const got = await ctx.read(latent);
  const r = compare(got, referenceDps(xInit, zs, steps, K, lr), { atol: 1e-4, rtol: 1e-4 });
  console.log(`dps vs float64: ${r.report}`);
  expect(r.ok, r.report).toBe(true);
  expect(evals).toBe(steps * (1 + 2 * K));
  // the transpose matters here: the same loop moving along J d (P instead of P^T) lands elsewhere
  const jvp = (x: ArrayLike<number>, t: number, d: ArrayLike<number>) => {
    const pd = perm(d), a = aOf(t);
    return Float64Array.from({ length: n }, (_, i) => { const z = a * x[i]!, s = sig(z); return (0.9 * a * s * (1 + z * (1 - s)) - 0.3) * d[i]! + 0.2 * pd[i]!; });
  };
  const jd = referenceDps(xInit, zs, steps, K, lr, jvp);
  console.log(`J d instead of J^T d: ${compare(got, jd, { atol: 1e-4, rtol: 1e-4 }).report}`);
  expect(compare(got, jd, { atol: 1e-4, rtol: 1e-4 }).ok).toBe(false);
});

gpuTest("dps without a denoiseVjp is refused by name", async (ctx: GpuContext) => {
  const settings: SamplerSettings = { steps: 2, K: 1, lr: 0.1, h: 0.005, schedule: 'exact', method: 'dps' };
  await expect(sampleConstrained(ctx, {
    denoise: async (x) => ctx.upload(new Float32Array(n), x.shape),
    constraint: new InpaintConstraint(ctx.upload(zY, shape), ctx.upload(maskLat, shape)),
    noise: recordedNoise(randn(n, 1), new Float32Array(2 * n), 2), latentShape: shape, settings,
  })).rejects.toThrow(/dps.*vector-Jacobian/);
});
