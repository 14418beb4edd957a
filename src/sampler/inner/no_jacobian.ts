// Baseline (ours, for comparison with the method): move x_t along the error direction itself,
// x <- x + lr[k] d / max|d|, as if the denoiser Jacobian were the identity. 1 + K evaluations.
import { directionUpdate } from '../newton_step.js';
import type { InnerMethod } from './inner_method.js';

export const noJacobian: InnerMethod = {
  name: 'no-jacobian',
  async run(step, state) {
    for (let k = 0; k < step.K; k++) {
      const { x, x0 } = state, o = step.observe.at(`k${k}`);
      state = await step.ctx.scope(async () => {
        const d = await step.direction(x0, o);
        const xNext = directionUpdate(step.ctx, x, d, step.lr[k]);        // x + lr d / max|d|
        await o.record({ d });
        const next = await step.evaluate(xNext);
        await o.record({ x: next.x });
        return next;
      });
    }
    return state;
  },
};
