// Baseline (ours, for comparison with the method): move x_t along the error direction itself,
// x <- x + lr[k] d / max|d|, as if the denoiser Jacobian were the identity. 1 + K evaluations.
import { maxAbsPerSample } from '../../kernels/reduce.js';
import { directionUpdate } from '../newton_step.js';
import { evaluateRows, keepRows } from './active_rows.js';
import type { InnerMethod } from './inner_method.js';

export const noJacobian: InnerMethod = {
  name: 'no-jacobian',
  async run(step, state) {
    for (let k = 0; k < step.K; k++) {
      const current = state, { x, x0 } = current, o = step.observe.at(`k${k}`);
      const next = await step.ctx.scope(async () => {
        const d = await step.direction(x0, o);
        const dNorm = maxAbsPerSample(step.ctx, d);
        const rows = await step.stop.active(k, dNorm);                     // (ours) K 'auto', per sample
        if (rows?.length === 0) return null;
        step.took();
        const xNext = keepRows(step.ctx, directionUpdate(step.ctx, x, d, step.lr[k], dNorm), x, rows); // x + lr d / max|d|
        await o.record({ d });
        const next = await evaluateRows(step, xNext, rows, current);
        await o.record({ x: next.x });
        return next;
      });
      if (!next) break;
      state = next;
    }
    return state;
  },
};
