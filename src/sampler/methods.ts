// Which parts of the loop a Method uses: an inner method (K inner steps between the step's first
// evaluation and its DDIM update) and an optional hook after the update. The replace baseline is
// only such a hook: paste the known latent, noised to the next step's level, over x_{t-stride}.
import type { GpuContext } from '../gpu/context.js';
import type { GpuTensor } from '../gpu/tensor.js';
import type { Constraint } from './constraints/constraint.js';
import { dps } from './inner/dps.js';
import { exactNewton } from './inner/exact.js';
import { fusedNewton } from './inner/fused.js';
import type { InnerMethod } from './inner/inner_method.js';
import { noJacobian } from './inner/no_jacobian.js';
import type { StepScalars } from './schedule.js';
import type { SamplerSettings } from './types.js';

/** x_{t-stride} and this step's noise z -> the x the next step starts from */
export type AfterUpdate = (ctx: GpuContext, xNext: GpuTensor, z: GpuTensor, s: StepScalars) => GpuTensor;

export interface MethodPlan {
  /** null: the step's first evaluation goes straight to the DDIM update */
  inner: InnerMethod | null;
  /** inner steps per diffusion step (0 without an inner method) */
  K: number;
  afterUpdate?: AfterUpdate;
}

export function methodPlan(cfg: SamplerSettings, constraint: Constraint | undefined): MethodPlan {
  if (cfg.method !== 'none' && !constraint) throw new Error(`method '${cfg.method}' needs a constraint`);
  switch (cfg.method) {
    case 'newton': return { inner: cfg.schedule === 'exact' ? exactNewton : fusedNewton, K: cfg.K };
    case 'no-jacobian': return { inner: noJacobian, K: cfg.K };
    case 'dps': return { inner: dps, K: cfg.K };
    case 'replace': return { inner: null, K: 0, afterUpdate: replaceKnown(constraint!) };
    case 'none': return { inner: null, K: 0 };
  }
}

/** x <- known cells of the constraint at the noise level of ab_prev (same z as the update). */
function replaceKnown(c: Constraint): AfterUpdate {
  const replace = c.replaceKnown?.bind(c);
  if (!replace) {
    throw new Error(`method 'replace' needs known latent cells to replace (latent-space inpainting); constraint '${c.name}' has none`);
  }
  return (ctx, xNext, z, s) => replace(ctx, xNext, s.sqrtAbPrev, Math.sqrt(1 - s.abPrev), z);
}
