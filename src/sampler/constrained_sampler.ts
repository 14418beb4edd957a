// Fast constrained sampling by inexact Newton steps (Graikos, Jojic, Samaras; arXiv 2410.18804).
// At each diffusion step, K inner steps move x_t so that its denoised estimate x0 satisfies the
// constraint, along J d = d x0/d x_t * d, obtained by a finite difference of two forward passes:
//     J d ~= (x0(x_t + delta d) - x0(x_t)) / delta,      delta = h / max|d|
// normalised by its infinity norm and scaled by lr[k]. No backpropagation through the UNet.
// This file is the outer loop of method.md's pseudocode (official); the inner steps are
// inner/*.ts, chosen by methods.ts. Tracing is an observer (observer.ts) and never steers.
import type { GpuContext } from '../gpu/context.js';
import { numel, type GpuTensor } from '../gpu/tensor.js';
import { maxAbsPerSample } from '../kernels/reduce.js';
import type { DiffusionStep } from './inner/inner_method.js';
import { methodPlan } from './methods.js';
import { ddimUpdate, x0Estimate } from './newton_step.js';
import { Observe } from './observer.js';
import { innerStop } from './inner/stopping.js';
import { newtonTimesteps, stepLearningRates, stepScalars, type StepScalars } from './schedule.js';
import { SamplingError, type SampleRequest, type SampleResult } from './types.js';

export {
  DEFAULT_SETTINGS, SamplingError,
  type Denoise, type Method, type Progress, type SampleRequest, type SampleResult, type SamplerSettings, type Schedule,
} from './types.js';

export async function sampleConstrained(ctx: GpuContext, req: SampleRequest): Promise<SampleResult> {
  const { settings: cfg, noise, latentShape } = req;
  const plan = methodPlan(cfg, req.constraint);
  const { timesteps, stride } = newtonTimesteps(cfg.steps, cfg.tStart);
  const lr = stepLearningRates(cfg.lr, Math.max(plan.K, 1), stride, cfg.lrStride);
  const [N] = latentShape, size = numel(latentShape) / N;
  const observe = Observe.of(req.trace);
  const counts = { evals: 0, calls: 0, innerSteps: 0 }, started = Date.now();

  // everything pooled made in here is freed on return, abort or divergence, but the result
  return ctx.scope(async () => {
    let x = ctx.upload(noise.initial(N, size), latentShape);              // x ~ N(0, I)
    let x0: GpuTensor | null = null;
    for (let si = 0; si < timesteps.length; si++) {
      const s = stepScalars(timesteps[si], stride);
      const step = diffusionStep(ctx, req, s, { K: plan.K, lr, counts, observe: observe.at(`step${si}`) });
      const next = await ctx.scope(async () => {
        await step.observe.record({ x });
        const first = await step.evaluate(x);                              // eps = UNet(x, t, c); x0
        await step.observe.record({ eps: first.eps, x0: first.x0 });
        const last = plan.inner ? await plan.inner.run(step, first) : first; // for k in 0 .. K-1
        await step.observe.record({ eps_ddim: last.eps, x0_ddim: last.x0 });
        // x = sqrt(ab_prev) x0 + sqrt(1 - ab_prev - bt) eps + sqrt(bt) z
        const z = ctx.upload(noise.step(si, N, size), latentShape);
        const updated = ddimUpdate(ctx, last.x0, last.eps, z, s);
        const xNext = plan.afterUpdate ? plan.afterUpdate(ctx, updated, z, s) : updated;
        await step.observe.record({ x_next: xNext });
        return { x: xNext, x0: last.x0 };
      });
      ctx.release(x, x0);
      ({ x, x0 } = next);
      await checkFinite(ctx, x, si, s.t);
      await req.onProgress?.({ step: si + 1, steps: timesteps.length, t: s.t, evals: counts.evals, calls: counts.calls, elapsedMs: Date.now() - started, x0 });
    }
    ctx.release(x);
    await observe.record({ result_latent: x0! });                          // output = x0 of the last step
    return { latent: x0!, evals: counts.evals, calls: counts.calls, innerSteps: counts.innerSteps };
  });
}

/** The step's view for the inner methods: its t, the counted model calls and the constraint. */
function diffusionStep(ctx: GpuContext, req: SampleRequest, s: StepScalars,
                       o: Pick<DiffusionStep, 'K' | 'lr' | 'observe'> & { counts: { evals: number; calls: number; innerSteps: number } }): DiffusionStep {
  const step: DiffusionStep = {
    ctx, K: o.K, lr: o.lr, h: req.settings.h, observe: o.observe,
    stop: innerStop(ctx, req.settings.innerStop, req.settings.autoTol, o.lr),
    took: () => { o.counts.innerSteps++; },
    async eps(x) {
      req.signal?.throwIfAborted();
      const eps = await req.denoise(x, s.t);
      o.counts.evals += x.shape[0]; o.counts.calls++;
      return eps;
    },
    epsVjp: req.denoiseVjp && (async (x, u) => {
      req.signal?.throwIfAborted();
      const g = await req.denoiseVjp!(x, s.t, u);
      o.counts.evals += x.shape[0]; o.counts.calls++;                       // its tape forward is an evaluation
      return g;
    }),
    x0: (x, eps) => x0Estimate(ctx, x, eps, s),
    async evaluate(x) {
      const eps = await step.eps(x);
      return { x, eps, x0: step.x0(x, eps) };
    },
    direction: (x0, obs) => req.constraint!.direction(ctx, x0, obs.constraintTrace),
    gradient: req.constraint?.gradient && ((x0, obs) => req.constraint!.gradient!(ctx, x0, obs.constraintTrace)),
  };
  return step;
}

async function checkFinite(ctx: GpuContext, x: GpuTensor, step: number, t: number): Promise<void> {
  const v = await ctx.scope(() => ctx.read(maxAbsPerSample(ctx, x)));
  const bad = Array.from(v).findIndex((a) => !Number.isFinite(a));
  if (bad >= 0) throw new SamplingError(`sampling diverged: non-finite values (NaN/Inf) in sample ${bad} at step ${step + 1} (t=${t}); try a smaller {lr} or {h}`);
}
