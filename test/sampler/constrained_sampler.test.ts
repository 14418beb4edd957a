// The GPU sampler against the float64 CPU transcription of the algorithm, with a closed-form
// non-linear "denoiser" eps(x, t) = tanh(a_t x) made of engine kernels, and the inpainting
// direction. Covers both schedules and every baseline without any model weights.
import { expect } from 'vitest';
import type { GpuContext } from '../../src/gpu/context.js';
import { scale, unary } from '../../src/kernels/elementwise.js';
import { sampleConstrained } from '../../src/sampler/constrained_sampler.js';
import type { SamplerSettings } from '../../src/sampler/types.js';
import { InpaintConstraint, latentMask } from '../../src/sampler/constraints/inpaint.js';
import { recordedNoise, seededNoise } from '../../src/sampler/noise.js';
import { Tracer } from '../../src/sampler/tracer.js';
import { gpuTest } from '../helpers/gpu.js';
import { compare, randn } from '../helpers/numeric.js';
import { referenceSample, type RefSettings } from './reference_sampler.js';

const shape = [1, 4, 8, 8];
const n = 256;
const aOf = (t: number) => 0.5 + t / 1000;
// eps = 0.9 * silu(a_t x) - 0.3 x : smooth, non-linear, cheap; the same on CPU in float64
const cpuDenoise = (x: Float64Array, t: number) => x.map((v) => { const u = aOf(t) * v; return 0.9 * u / (1 + Math.exp(-u)) - 0.3 * v; });
const gpuDenoise = (ctx: GpuContext) => async (x: import('../../src/gpu/tensor.js').GpuTensor, t: number) => {
  const u = scale(ctx, x, aOf(t));
  const s = unary(ctx, 'silu', u);
  const { axpby } = await import('../../src/kernels/elementwise.js');
  const e = axpby(ctx, 0.9, s, -0.3, x);
  ctx.release(u, s);
  return e;
};

const pixelMask = new Float32Array(64 * 64).map((_, i) => (i % 64 < 32 ? 1 : 0));
const maskLat = latentMask(pixelMask, 1, 64, 64, 8, 4);
const zY = randn(n, 77, 0.8);

const cases: RefSettings[] = [
  { steps: 5, K: 3, lr: [0.5, 0.1], h: 0.005, schedule: 'exact', method: 'newton' },
  { steps: 5, K: 3, lr: [0.5, 0.1], h: 0.005, schedule: 'fused', method: 'newton' },
  { steps: 4, K: 2, lr: 0.1, h: 0.005, schedule: 'exact', method: 'no-jacobian' },
  { steps: 5, K: 0, lr: 0.1, h: 0.005, schedule: 'exact', method: 'replace' },
  { steps: 10, K: 0, lr: 0.1, h: 0.005, schedule: 'exact', method: 'none' },
];

for (const cfg of cases) {
  gpuTest(`sampler ${cfg.method}/${cfg.schedule} K=${cfg.K} equals the float64 transcription`, async (ctx) => {
    const xInit = randn(n, 1), zList = Array.from({ length: cfg.steps }, (_, s) => randn(n, 100 + s));
    const zFlat = new Float32Array(cfg.steps * n);
    zList.forEach((z, s) => zFlat.set(z, s * n));
    const constraint = new InpaintConstraint(ctx.upload(zY, shape), ctx.upload(maskLat, shape));
    const { latent, evals } = await sampleConstrained(ctx, {
      denoise: await gpuDenoise(ctx), constraint: cfg.method === 'none' ? undefined : constraint,
      noise: recordedNoise(xInit, zFlat, cfg.steps), latentShape: shape, settings: cfg as SamplerSettings,
    });
    const want = referenceSample(cpuDenoise, (x0) => x0.map((v, i) => maskLat[i] * (zY[i] - v)), xInit, zList, cfg,
      { zY: Float64Array.from(zY), mask: Float64Array.from(maskLat) });
    const r = compare(await ctx.read(latent), want, { atol: 1e-4, rtol: 1e-4 });
    expect(r.ok, r.report).toBe(true);
    const perStep = cfg.method === 'newton' ? (cfg.schedule === 'exact' ? 1 + 2 * cfg.K : cfg.K * 2 + 2)
      : cfg.method === 'no-jacobian' ? 1 + cfg.K : 1;
    expect(evals).toBe(cfg.steps * perStep);
  });
}

// Tracing observes and never steers; ctx.scope frees every step's tensors, and all of them on abort.
for (const schedule of ['exact', 'fused'] as const) {
  gpuTest(`sampler newton/${schedule}: the same bits traced or not, the golden names, nothing leaked or freed twice`, async (ctx) => {
    const cfg: SamplerSettings = { steps: 4, K: 2, lr: [0.5, 0.1], h: 0.005, schedule, method: 'newton' };
    const constraint = new InpaintConstraint(ctx.upload(zY, shape), ctx.upload(maskLat, shape));
    const pooled = ctx.pool.handedOut, doubles = ctx.pool.doubleReleases;
    const run = (trace?: Tracer, signal?: AbortSignal, onProgress?: () => void) => sampleConstrained(ctx, {
      denoise: gpuDenoise(ctx), constraint, noise: seededNoise([5]), latentShape: shape, settings: cfg, trace, signal, onProgress,
    });
    const plain = await run(), tracer = new Tracer(ctx), traced = await run(tracer);
    expect(Array.from(await ctx.read(traced.latent))).toEqual(Array.from(await ctx.read(plain.latent)));
    ctx.release(plain.latent, traced.latent);
    const inner = schedule === 'exact'
      ? ['d', 'delta', 'xp', 'eps_p', 'x0p', 'g_raw', 'g', 'x', 'eps', 'x0']
      : ['d', 'eps_batch', 'x0_now', 'delta', 'xp', 'x0p', 'g_raw', 'g', 'd_next', 'x'];
    const want = ['result_latent'];
    for (let s = 0; s < cfg.steps; s++) {
      want.push(...['x', 'eps', 'x0', ...(schedule === 'fused' ? ['d'] : []), 'eps_ddim', 'x0_ddim', 'x_next'].map((n) => `step${s}.${n}`));
      for (let k = 0; k < cfg.K; k++) want.push(...inner.map((n) => `step${s}.k${k}.${n}`));
    }
    expect([...tracer.tensors.keys()].sort()).toEqual(want.sort());
    const ac = new AbortController();
    await expect(run(undefined, ac.signal, () => ac.abort(new Error('stop')))).rejects.toThrow('stop');
    expect(ctx.pool.handedOut).toBe(pooled);
    expect(ctx.pool.doubleReleases).toBe(doubles);
    constraint.destroy(ctx);
  });
}

gpuTest('seeded noise: a sample does not depend on its batch; same seed, same numbers', async () => {
  const one = seededNoise([42]), two = seededNoise([7, 42]);
  expect(Array.from(two.initial(2, 16).subarray(16))).toEqual(Array.from(one.initial(1, 16)));
  expect(Array.from(two.step(3, 2, 16).subarray(16))).toEqual(Array.from(one.step(3, 1, 16)));
  expect(Array.from(seededNoise([42]).step(0, 1, 4))).toEqual(Array.from(seededNoise([42]).step(0, 1, 4)));
});
