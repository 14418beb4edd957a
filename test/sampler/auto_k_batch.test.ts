// K 'auto' per sample (inner/stopping.ts active(), inner/active_rows.ts): in a batch each sample
// stops when its own residual stops improving, and only the samples still going are evaluated.
// So a batch of two gives each sample exactly what it gets when run alone, with the evaluations
// of the two lone runs summed — for exact Newton and the no-Jacobian step. Closed-form
// elementwise "denoiser" (batch-independent by construction), inpainting direction, no weights.
import { expect } from 'vitest';
import type { GpuContext } from '../../src/gpu/context.js';
import type { GpuTensor } from '../../src/gpu/tensor.js';
import { axpby, scale, unary } from '../../src/kernels/elementwise.js';
import { sampleConstrained } from '../../src/sampler/constrained_sampler.js';
import { InpaintConstraint, latentMask } from '../../src/sampler/constraints/inpaint.js';
import { seededNoise } from '../../src/sampler/noise.js';
import type { SamplerSettings } from '../../src/sampler/types.js';
import { gpuTest } from '../helpers/gpu.js';
import { randn } from '../helpers/numeric.js';

const per = 4 * 8 * 8;
const denoise = (ctx: GpuContext) => async (x: GpuTensor, t: number) => {
  const u = scale(ctx, x, 0.5 + t / 1000), s = unary(ctx, 'silu', u);
  const e = axpby(ctx, 0.9, s, -0.3, x);
  ctx.release(u, s);
  return e;
};
const mask1 = latentMask(new Float32Array(64 * 64).map((_, i) => (i % 64 < 32 ? 1 : 0)), 1, 64, 64, 8, 4);
const targets = [randn(per, 77, 0.8), randn(per, 78, 2.5)];
const seeds = [11, 40];

async function run(ctx: GpuContext, samples: number[], settings: SamplerSettings) {
  const N = samples.length, zY = new Float32Array(N * per), m = new Float32Array(N * per);
  samples.forEach((s, j) => { zY.set(targets[s]!, j * per); m.set(mask1, j * per); });
  const shape = [N, 4, 8, 8];
  const r = await sampleConstrained(ctx, {
    denoise: denoise(ctx), constraint: new InpaintConstraint(ctx.upload(zY, shape), ctx.upload(m, shape)),
    noise: seededNoise(samples.map((s) => seeds[s]!)), latentShape: shape, settings,
  });
  const latent = await ctx.read(r.latent);
  ctx.release(r.latent);
  return { latent, evals: r.evals, innerSteps: r.innerSteps };
}

for (const method of ['newton', 'no-jacobian'] as const) {
  gpuTest(`K auto, ${method}: a batch of two = each sample alone, evaluations summed`, async (ctx) => {
    const settings = { steps: 5, K: 8, lr: 0.05, h: 0.005, schedule: 'exact', method, innerStop: 'auto', autoTol: 0.05 } as SamplerSettings;
    const both = await run(ctx, [0, 1], settings), a = await run(ctx, [0], settings), b = await run(ctx, [1], settings);
    const fixedEvals = settings.steps * 2 * (method === 'newton' ? 1 + 2 * settings.K : 1 + settings.K);
    console.log(`${method}: evals alone ${a.evals} + ${b.evals}, together ${both.evals}, fixed K ${fixedEvals}`);
    expect(a.evals).not.toBe(b.evals);                    // the two stop at different inner steps
    expect(both.evals).toBe(a.evals + b.evals);
    expect(both.evals).toBeLessThan(fixedEvals);
    const maxDiff = (x: Float32Array, y: Float32Array) => x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i]!)), 0);
    expect(maxDiff(both.latent.subarray(0, per), a.latent)).toBeLessThan(1e-6);
    expect(maxDiff(both.latent.subarray(per), b.latent)).toBeLessThan(1e-6);
  });
}
