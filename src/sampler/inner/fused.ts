// The fused schedule (ours; method.md decision 2, golden README "Algorithm"): the unperturbed and
// the perturbed input of inner step k go through the model as ONE batch of two,
//   [x_k, x_k + delta d_{k-1}]  ->  x0(x_k), x0p,   d_k = direction(x0(x_k))
// so the direction lags by one inner step. Per diffusion step: the loop's single pass (eps, x0,
// the first d), K batch-of-two passes, one single pass after the last update for the DDIM step:
// K + 2 evaluations, K of them batched.
import type { GpuTensor } from '../../gpu/tensor.js';
import { concat0, slice0 } from '../../kernels/tensor_ops.js';
import { newtonUpdate, perturb } from '../newton_step.js';
import type { Observe } from '../observer.js';
import type { DiffusionStep, InnerMethod } from './inner_method.js';
import { traceNewtonMove } from './newton_trace.js';

interface FusedState { x: GpuTensor; d: GpuTensor }

export const fusedNewton: InnerMethod = {
  name: 'newton/fused',
  async run(step, start) {
    let state: FusedState = { x: start.x, d: await step.direction(start.x0, step.observe.at('k0')) };
    await step.observe.record({ d: state.d });
    for (let k = 0; k < step.K; k++) {
      const current = state;
      const next = await step.ctx.scope(() => fusedStep(step, current, k, step.observe.at(`k${k}`)));
      if (!next) break;                                                    // the stopping policy said stop
      state = next;
    }
    return step.evaluate(state.x);                                         // eps, x0 for the DDIM update
  },
};

async function fusedStep(step: DiffusionStep, { x, d }: FusedState, k: number, o: Observe): Promise<FusedState | null> {
  const { ctx, h } = step;
  const N = x.shape[0];
  const { xp, dNorm } = perturb(ctx, x, d, h);                             // x + delta d_{k-1}
  if (!await step.stop.proceed(k, dNorm)) return null;                     // (ours) K 'auto': d_{k-1} is x_k's direction
  step.took();
  const epsBatch = await step.eps(concat0(ctx, [x, xp]));                  // ONE call, batch 2N
  const epsNow = slice0(ctx, epsBatch, 0, N), epsP = slice0(ctx, epsBatch, N, N);
  const x0Now = step.x0(x, epsNow), x0p = step.x0(xp, epsP);
  const dNext = await step.direction(x0Now, o.at('next'));                 // the direction lags by one
  const { x: xNext, diff, gNorm } = newtonUpdate(ctx, x, x0p, x0Now, step.lr[k]);
  if (o.enabled) {
    await o.record({ d, eps_batch: epsBatch, x0_now: x0Now });
    await traceNewtonMove(o, ctx, { dNorm, xp, x0p, diff, gNorm }, h);
    await o.record({ d_next: dNext, x: xNext });
  }
  return { x: xNext, d: dNext };
}
