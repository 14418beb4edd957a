// Plain text-to-image sampling with the standard DDIM scheduler (eta = 0), as diffusers'
// StableDiffusionPipeline runs it: x_T ~ N(0, I) (init_noise_sigma = 1), then ddimStep per timestep.
import type { GpuContext } from '../gpu/context.js';
import type { GpuTensor } from '../gpu/tensor.js';
import type { Denoise, Progress, SampleResult } from './types.js';
import { ddimStep, ddimTimesteps } from './ddim.js';
import type { NoiseSource } from './noise.js';
import { Observe, type SamplerObserver } from './observer.js';

export interface DdimOptions {
  onProgress?: (p: Progress) => void | Promise<void>;
  signal?: AbortSignal;
  /** records step{i}.x, .eps, .x0, .x_next and result_latent (observes only) */
  trace?: SamplerObserver;
}

export async function sampleDdim(ctx: GpuContext, denoise: Denoise, noise: NoiseSource, latentShape: number[], steps: number,
                                 { onProgress, signal, trace }: DdimOptions = {}): Promise<SampleResult> {
  const [N] = latentShape;
  const size = latentShape.slice(1).reduce((a, b) => a * b, 1);
  const started = Date.now(), observe = Observe.of(trace);
  let x: GpuTensor = ctx.upload(noise.initial(N, size), latentShape);
  let x0: GpuTensor | null = null;
  let evals = 0, calls = 0;
  const ts = ddimTimesteps(steps);
  for (let i = 0; i < ts.length; i++) {
    signal?.throwIfAborted();
    const o = observe.at(`step${i}`);
    await o.record({ x });
    const eps = await denoise(x, ts[i]);
    evals += N; calls++;
    const step = ddimStep(ctx, x, eps, ts[i], steps);
    await o.record({ eps, x0: step.x0, x_next: step.prev });
    ctx.release(x, eps, x0 ?? undefined);
    x = step.prev; x0 = step.x0;
    await onProgress?.({ step: i + 1, steps: ts.length, t: ts[i], evals, calls, elapsedMs: Date.now() - started, x0 });
  }
  ctx.release(x0 ?? undefined);
  await observe.record({ result_latent: x });
  return { latent: x, evals, calls };
}
