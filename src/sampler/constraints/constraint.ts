// A constraint tells the sampler which way x0 should move: an error direction d in latent space
// (method.md: for ||A x0 - y||^2 it is A^T (y - A x0)). Directions of several constraints add
// after each is normalised by its infinity norm (see combined.ts).
import type { GpuContext } from '../../gpu/context.js';
import type { GpuTensor } from '../../gpu/tensor.js';

/** Receives a constraint's own intermediates (names relative to the inner step) when a run is traced. */
export type TraceFn = (name: string, t: GpuTensor) => Promise<void>;

export interface Constraint {
  readonly name: string;
  /**
   * x0: [N, 4, h, w] -> d: [N, 4, h, w], a new tensor the caller releases (or its ctx.scope does).
   * `trace` only reads: the direction must be the same with it or without it.
   */
  direction(ctx: GpuContext, x0: GpuTensor, trace?: TraceFn): Promise<GpuTensor>;
  /**
   * The gradient baseline's direction (method 'dps', inner/dps.ts): -grad_{x0} of the constraint's
   * loss, exactly, in latent space — for a pixel-space constraint pulled back through the
   * decoder's VJP (D^T), where `direction` uses the forward-only encoder pull-back (ours, method.md
   * decision 1). Same shape and ownership as `direction`. Absent: no exact gradient (dps refuses).
   */
  gradient?(ctx: GpuContext, x0: GpuTensor, trace?: TraceFn): Promise<GpuTensor>;
  /** Replacement baseline (inpainting only): paste the known latent, noised to the level of the next step. */
  replaceKnown?(ctx: GpuContext, x: GpuTensor, sqrtAb: number, sqrtOneMinusAb: number, z: GpuTensor): GpuTensor;
  /** Per-sample constraint residual of a decoded image (reporting only). */
  residual?(ctx: GpuContext, x0: GpuTensor): Promise<number[]>;
  destroy?(ctx: GpuContext): void;
}
