// The inexact Newton step in the authors' order (official; method.md "The sampler, step by step"):
//   d = direction(x0);  delta = h / max|d|
//   x0p = x0(x + delta d)                       forward pass 1
//   g = (x0p - x0) / delta ~ J d;  g = g / max|g|
//   x = x + lr[k] g;  eps, x0 at the new x      forward pass 2
// 1 + 2K evaluations per diffusion step.
import { newtonUpdate, perturb } from '../newton_step.js';
import type { Observe } from '../observer.js';
import type { DiffusionStep, InnerMethod, StepState } from './inner_method.js';
import { traceNewtonMove } from './newton_trace.js';
import { epsOfRows, evaluateRows, keepRows } from './active_rows.js';

export const exactNewton: InnerMethod = {
  name: 'newton/exact',
  async run(step, state) {
    for (let k = 0; k < step.K; k++) {
      const current = state;
      const next = await step.ctx.scope(() => newtonStep(step, current, k, step.observe.at(`k${k}`)));
      if (!next) break;                                                    // the stopping policy said stop
      state = next;
    }
    return state;
  },
};

async function newtonStep(step: DiffusionStep, state: StepState, k: number, o: Observe): Promise<StepState | null> {
  const { ctx, h } = step, { x, x0 } = state;
  const d = await step.direction(x0, o);                                   // error direction at x0
  const { xp, dNorm } = perturb(ctx, x, d, h);                             // x + delta d, delta = h / max|d|
  const rows = await step.stop.active(k, dNorm);                           // (ours) K 'auto', per sample
  if (rows?.length === 0) return null;
  step.took();
  const epsP = await epsOfRows(step, xp, rows, state.eps);                 // forward pass 1 (stopped samples: not evaluated)
  const x0p = step.x0(xp, epsP);
  const { x: moved, diff, gNorm } = newtonUpdate(ctx, x, x0p, x0, step.lr[k]); // x + lr J d / max|J d|
  const xNext = keepRows(ctx, moved, x, rows);                             // a stopped sample stays
  await o.record({ d });
  await traceNewtonMove(o, ctx, { dNorm, xp, epsP, x0p, diff, gNorm }, h);
  const next = await evaluateRows(step, xNext, rows, state);               // forward pass 2
  await o.record({ x: next.x, eps: next.eps, x0: next.x0 });
  return next;
}
