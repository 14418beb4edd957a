// Fast constrained sampling by inexact Newton steps (Graikos, Jojic, Samaras; arXiv 2410.18804).
// At each diffusion step, K inner steps move x_t so that its denoised estimate x0 satisfies the
// constraint, along J d = d x0/d x_t * d, obtained by a finite difference of two forward passes:
//     J d ~= (x0(x_t + delta d) - x0(x_t)) / delta,      delta = h / max|d|
// normalised by its infinity norm and scaled by lr[k]. No backpropagation through the UNet.
// Two schedules (method.md, decision 2; golden README "Algorithm"):
//   exact: the authors' order, 1 + 2K evaluations per step;
//   fused: [x_k, x_k + delta d_{k-1}] as one batch of two, K + 2 evaluations (K of them batched).
// Baselines in the same loop: no-jacobian (move along d itself), replace (paste the noised known
// latent), none (plain DDIM-form sampling). Per-sample norms stay on the GPU (axpby_scaled).
import type { GpuContext } from '../gpu/context.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { axpbyScaled } from '../kernels/axpby_scaled.js';
import { maxAbsPerSample } from '../kernels/reduce.js';
import { concat0, slice0 } from '../kernels/tensor_ops.js';
import type { Constraint } from './constraints/constraint.js';
import type { NoiseSource } from './noise.js';
import { ddimUpdate, directionUpdate, newtonUpdate, perturb, x0Estimate } from './newton_step.js';
import { learningRates, newtonTimesteps, stepScalars, type StepScalars } from './schedule.js';
import { Tracer } from './tracer.js';

/** eps(x, t) for a batch: [B, 4, h, w] -> [B, 4, h, w] (guidance, if any, happens inside). */
export type Denoise = (x: GpuTensor, t: number) => Promise<GpuTensor>;

export type Method = 'newton' | 'no-jacobian' | 'replace' | 'none';
export type Schedule = 'exact' | 'fused';

export interface SamplerSettings {
  steps: number;
  K: number;
  /** constant, or [from, to] linear over the K inner steps */
  lr: number | [number, number];
  h: number;
  schedule: Schedule;
  method: Method;
  tStart?: number;
}

export const DEFAULT_SETTINGS: SamplerSettings = { steps: 20, K: 5, lr: [0.5, 0.1], h: 0.005, schedule: 'exact', method: 'newton' };

export interface Progress { step: number; steps: number; t: number; evals: number; calls: number; elapsedMs: number; x0: GpuTensor }

export interface SampleRequest {
  denoise: Denoise;
  constraint?: Constraint;
  noise: NoiseSource;
  /** [N, 4, h, w] */
  latentShape: number[];
  settings: SamplerSettings;
  /** receives every stage under the golden files' names (step{s}.k{k}.g, ...) */
  trace?: Tracer;
  /** called after each diffusion step; x0 is valid only during the call */
  onProgress?: (p: Progress) => void | Promise<void>;
  signal?: AbortSignal;
}

export class SamplingError extends Error {}

export interface SampleResult { latent: GpuTensor; evals: number; calls: number }

export async function sampleConstrained(ctx: GpuContext, req: SampleRequest): Promise<SampleResult> {
  const { settings: cfg, constraint, latentShape } = req;
  const [N] = latentShape;
  const size = latentShape.slice(1).reduce((a, b) => a * b, 1);
  if (cfg.method !== 'none' && !constraint) throw new Error(`method '${cfg.method}' needs a constraint`);
  if (cfg.method === 'replace' && !constraint?.replaceKnown) {
    throw new Error(`method 'replace' needs known latent cells to replace (latent-space inpainting); constraint '${constraint?.name}' has none`);
  }
  const K = cfg.method === 'newton' || cfg.method === 'no-jacobian' ? cfg.K : 0;
  const lr = learningRates(cfg.lr, Math.max(K, 1));
  const { timesteps, stride } = newtonTimesteps(cfg.steps, cfg.tStart);
  const tr = req.trace ?? Tracer.off;
  const started = Date.now();
  let evals = 0, calls = 0;

  const eval1 = async (x: GpuTensor, s: StepScalars) => {
    req.signal?.throwIfAborted();
    const eps = await req.denoise(x, s.t);
    evals += x.shape[0]; calls++;
    return eps;
  };
  const x0Of = (x: GpuTensor, eps: GpuTensor, s: StepScalars) => x0Estimate(ctx, x, eps, s);
  const direction = (x0: GpuTensor, prefix: string) =>
    constraint!.direction(ctx, x0, tr.enabled ? (name, t) => tr.tensor(`${prefix}.${name}`, t) : undefined);

  let x = ctx.upload(req.noise.initial(N, size), latentShape);
  let result: GpuTensor | null = null;
  for (let si = 0; si < timesteps.length; si++) {
    const s = stepScalars(timesteps[si], stride);
    const p = `step${si}`;
    await tr.tensor(`${p}.x`, x);
    let eps = await eval1(x, s);
    let x0 = x0Of(x, eps, s);
    await tr.tensor(`${p}.eps`, eps); await tr.tensor(`${p}.x0`, x0);

    if (cfg.method === 'newton' && cfg.schedule === 'exact') {
      for (let k = 0; k < K; k++) {
        const q = `${p}.k${k}`;
        const d = await direction(x0, q);                                   // error direction at x0
        const { xp, dNorm } = perturb(ctx, x, d, cfg.h);                    // x + delta d, delta = h / max|d|
        const epsP = await eval1(xp, s);                                    // forward pass 1
        const x0p = x0Of(xp, epsP, s);
        const { x: xNext, diff, gNorm } = newtonUpdate(ctx, x, x0p, x0, lr[k]); // x + lr J d / max|J d|
        await traceInner(tr, ctx, q, { d, dNorm, xp, epsP, x0p, diff, gNorm, h: cfg.h });
        ctx.release(x, eps, x0, d, dNorm, xp, epsP, x0p, diff, gNorm);
        x = xNext;
        eps = await eval1(x, s);
        x0 = x0Of(x, eps, s);
        await tr.tensor(`${q}.x`, x); await tr.tensor(`${q}.eps`, eps); await tr.tensor(`${q}.x0`, x0);
      }
    } else if (cfg.method === 'newton') {
      let d = await direction(x0, `${p}.k0`);
      await tr.tensor(`${p}.d`, d);
      for (let k = 0; k < K; k++) {
        const q = `${p}.k${k}`;
        const { xp, dNorm } = perturb(ctx, x, d, cfg.h);
        const pair = concat0(ctx, [x, xp]);
        const e2 = await eval1(pair, s);                                    // ONE call, batch 2N
        const epsNow = slice0(ctx, e2, 0, N), epsP = slice0(ctx, e2, N, N);
        const x0Now = x0Of(x, epsNow, s), x0p = x0Of(xp, epsP, s);
        const dNext = await direction(x0Now, `${q}.next`);                  // the direction lags by one
        const { x: xNext, diff, gNorm } = newtonUpdate(ctx, x, x0p, x0Now, lr[k]);
        if (tr.enabled) {
          await tr.tensor(`${q}.d`, d); await tr.tensor(`${q}.eps_batch`, e2);
          await tr.tensor(`${q}.x0_now`, x0Now);
          await traceInner(tr, ctx, q, { d: null, dNorm, xp, epsP: null, x0p, diff, gNorm, h: cfg.h });
          await tr.tensor(`${q}.d_next`, dNext); await tr.tensor(`${q}.x`, xNext);
        }
        ctx.release(x, d, dNorm, xp, pair, e2, epsNow, epsP, x0Now, x0p, diff, gNorm);
        x = xNext; d = dNext;
      }
      ctx.release(d, eps, x0);
      eps = await eval1(x, s);
      x0 = x0Of(x, eps, s);
    } else if (cfg.method === 'no-jacobian') {
      for (let k = 0; k < K; k++) {
        const q = `${p}.k${k}`;
        const d = await direction(x0, q);
        const xNext = directionUpdate(ctx, x, d, lr[k]);                    // x + lr d / max|d|
        await tr.tensor(`${q}.d`, d);
        ctx.release(x, eps, x0, d);
        x = xNext;
        eps = await eval1(x, s);
        x0 = x0Of(x, eps, s);
        await tr.tensor(`${q}.x`, x);
      }
    }
    await tr.tensor(`${p}.eps_ddim`, eps); await tr.tensor(`${p}.x0_ddim`, x0);

    // DDIM-form update: x = sqrt(ab_prev) x0 + sqrt(1 - ab_prev - bt) eps + sqrt(bt) z
    const z = ctx.upload(req.noise.step(si, N, size), latentShape);
    let xNext = ddimUpdate(ctx, x0, eps, z, s);
    if (cfg.method === 'replace') {
      const replaced = constraint!.replaceKnown!(ctx, xNext, s.sqrtAbPrev, Math.sqrt(1 - s.abPrev), z);
      ctx.release(xNext);
      xNext = replaced;
    }
    await tr.tensor(`${p}.x_next`, xNext);
    ctx.release(z, x, eps);
    x = xNext;
    if (result) ctx.release(result);
    result = x0;
    await checkFinite(ctx, x, si, s.t);
    await req.onProgress?.({ step: si + 1, steps: timesteps.length, t: s.t, evals, calls, elapsedMs: Date.now() - started, x0: result });
  }
  ctx.release(x);
  await tr.tensor('result_latent', result!);
  return { latent: result!, evals, calls };
}

/** The golden names of one inner step, derived from what the loop keeps on the GPU. */
async function traceInner(tr: Tracer, ctx: GpuContext, q: string, v: {
  d: GpuTensor | null; dNorm: GpuTensor; xp: GpuTensor; epsP: GpuTensor | null; x0p: GpuTensor;
  diff: GpuTensor; gNorm: GpuTensor; h: number;
}): Promise<void> {
  if (!tr.enabled) return;
  if (v.d) await tr.tensor(`${q}.d`, v.d);
  const dNorm = await ctx.read(v.dNorm);
  await tr.values(`${q}.delta`, Array.from(dNorm, (m) => v.h / m), [dNorm.length]);
  await tr.tensor(`${q}.xp`, v.xp);
  if (v.epsP) await tr.tensor(`${q}.eps_p`, v.epsP);
  await tr.tensor(`${q}.x0p`, v.x0p);
  const gRaw = axpbyScaled(ctx, 0, v.diff, 1 / v.h, v.diff, v.dNorm, undefined, true);  // diff / delta
  const g = axpbyScaled(ctx, 0, v.diff, 1, v.diff, v.gNorm);
  await tr.tensor(`${q}.g_raw`, gRaw); await tr.tensor(`${q}.g`, g);
  ctx.release(gRaw, g);
}

async function checkFinite(ctx: GpuContext, x: GpuTensor, step: number, t: number): Promise<void> {
  const m = maxAbsPerSample(ctx, x);
  const v = await ctx.read(m);
  ctx.release(m);
  const bad = Array.from(v).findIndex((a) => !Number.isFinite(a));
  if (bad >= 0) throw new SamplingError(`sampling diverged: non-finite values (NaN/Inf) in sample ${bad} at step ${step + 1} (t=${t}); try a smaller --lr or --h`);
}
