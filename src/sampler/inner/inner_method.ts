// One diffusion step as the inner methods see it, and the interface they share. An inner method
// takes the step's first evaluation (x, eps(x), x0(x)) and runs the K inner steps that move x so
// that x0 satisfies the constraint; it returns the (x, eps, x0) the DDIM update uses.
//   exact.ts        the authors' inexact Newton step, 1 + 2K evaluations (official)
//   fused.ts        [x_k, x_k + delta d_{k-1}] as one batch of two, K + 2 evaluations (ours)
//   no_jacobian.ts  baseline: move along d itself, 1 + K evaluations
// Each method asks step.stop before an inner step (K is then a cap: inner/stopping.ts).
// Methods allocate freely: each inner step runs in ctx.scope, and the loop frees the whole
// diffusion step's tensors but what it carries on.
import type { GpuContext } from '../../gpu/context.js';
import type { GpuTensor } from '../../gpu/tensor.js';
import type { Observe } from '../observer.js';
import type { InnerStop } from './stopping.js';

/** x_t at one point of the step, with the model's eps there and the denoised estimate x0. */
export interface StepState { x: GpuTensor; eps: GpuTensor; x0: GpuTensor }

/** What an inner method may use at one diffusion step (t fixed). */
export interface DiffusionStep {
  readonly ctx: GpuContext;
  /** inner steps, their learning rates lr[0..K-1], and the finite-difference size h */
  readonly K: number;
  readonly lr: readonly number[];
  readonly h: number;
  /** eps(x, t) of a batch: one (counted, abortable) call of the noise model */
  eps(x: GpuTensor): Promise<GpuTensor>;
  /** x0(x) = (x - sqrt(1 - ab) eps) / sqrt(ab) */
  x0(x: GpuTensor, eps: GpuTensor): GpuTensor;
  /** J_eps^T u at x (one counted call: a tape forward and its backward); present when the caller gave a denoiseVjp */
  epsVjp?(x: GpuTensor, u: GpuTensor): Promise<GpuTensor>;
  /** eps and x0 at x */
  evaluate(x: GpuTensor): Promise<StepState>;
  /** the constraint's error direction d at x0; `o` names its intermediates */
  direction(x0: GpuTensor, o: Observe): Promise<GpuTensor>;
  /** the constraint's exact latent-space gradient direction at x0 (Constraint.gradient), when it has one */
  gradient?(x0: GpuTensor, o: Observe): Promise<GpuTensor>;
  /** the observer under "step{s}" */
  readonly observe: Observe;
  /** asked before each inner step with max|d| per sample: take it? (stopping.ts; 'fixed' always yes) */
  readonly stop: InnerStop;
  /** counts an inner step taken (for the result's innerSteps) */
  took(): void;
}

export interface InnerMethod {
  readonly name: string;
  run(step: DiffusionStep, start: StepState): Promise<StepState>;
}
