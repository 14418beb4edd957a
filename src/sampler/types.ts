// The sampler's vocabulary: what a caller hands the loop and what it gets back. The loop itself
// is constrained_sampler.ts; the inner methods are inner/*.ts.
import type { GpuTensor } from '../gpu/tensor.js';
import type { Constraint } from './constraints/constraint.js';
import type { NoiseSource } from './noise.js';
import type { SamplerObserver } from './observer.js';

/** eps(x, t) for a batch: [B, 4, h, w] -> [B, 4, h, w] (guidance, if any, happens inside). */
export type Denoise = (x: GpuTensor, t: number) => Promise<GpuTensor>;

/** J_eps^T u at (x, t), u [B, 4, h, w] -> [B, 4, h, w]: the noise model's VJP w.r.t. x (method 'dps' only). */
export type DenoiseVjp = (x: GpuTensor, t: number, u: GpuTensor) => Promise<GpuTensor>;

/**
 * newton: the paper's inexact Newton steps (ours: two schedules, below). Baselines in the same
 * loop: no-jacobian (move along d itself), replace (paste the noised known latent after each
 * update), none (plain DDIM-form sampling), dps (the gradient direction J^T d: inner/dps.ts).
 */
export type Method = 'newton' | 'no-jacobian' | 'replace' | 'none' | 'dps';
/** exact: the authors' order, 1 + 2K evaluations per step; fused (ours): K + 2, K of them batched. */
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
  /**
   * (ours) the stride, in training timesteps, that lr is given for: each diffusion step's inner
   * learning rates are scaled by stride / lrStride, so the total movement of the inner steps over
   * the whole trajectory does not grow with the number of steps. Undefined: lr per diffusion step
   * as given (the paper's, whose 20 steps have stride 50).
   */
  lrStride?: number;
  /** (ours) 'auto': stop the inner steps early when the constraint residual stops improving (inner/stopping.ts); K is the cap */
  innerStop?: InnerStopKind;
  /** 'auto': the relative improvement of the residual, per unit of the last inner step's learning rate, below which the inner steps stop (default AUTO_K_TOL) */
  autoTol?: number;
}

/** fixed: always K inner steps (the paper's); auto: adaptive, at most K (ours) */
export type InnerStopKind = 'fixed' | 'auto';

export const DEFAULT_SETTINGS: SamplerSettings = { steps: 20, K: 5, lr: [0.5, 0.1], h: 0.005, schedule: 'exact', method: 'newton' };

export interface Progress { step: number; steps: number; t: number; evals: number; calls: number; elapsedMs: number; x0: GpuTensor }

export interface SampleRequest {
  denoise: Denoise;
  /** needed by method 'dps' only */
  denoiseVjp?: DenoiseVjp;
  constraint?: Constraint;
  noise: NoiseSource;
  /** [N, 4, h, w] */
  latentShape: number[];
  settings: SamplerSettings;
  /** sees every stage under the golden files' names (step{s}.k{k}.g, ...); a Tracer records them */
  trace?: SamplerObserver;
  /** called after each diffusion step; x0 is valid only during the call */
  onProgress?: (p: Progress) => void | Promise<void>;
  signal?: AbortSignal;
}

/**
 * Sampling stopped (diverged). The message names request fields; `template` writes them {field}
 * so a front-end can put its own names there (the CLI its flags, as with the task table's problems).
 */
export class SamplingError extends Error {
  constructor(readonly template: string) {
    super(template.replace(/\{(\w+)\}/g, '$1'));
  }
}

/** innerSteps: inner steps actually taken, summed over diffusion steps (K x steps unless innerStop is 'auto') */
export interface SampleResult { latent: GpuTensor; evals: number; calls: number; innerSteps?: number }
