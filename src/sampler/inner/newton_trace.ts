// The golden names of one Newton move (golden README "Algorithm"), derived from what the move
// keeps on the GPU. Runs only when a trace is recorded: delta, g_raw and g exist for the trace
// alone (the update never forms them: the delta cancels in g's normalisation, newton_step.ts).
import type { GpuContext } from '../../gpu/context.js';
import type { GpuTensor } from '../../gpu/tensor.js';
import { axpbyScaled } from '../../kernels/axpby_scaled.js';
import type { Observe } from '../observer.js';

export interface NewtonMove {
  /** max|d| per sample ([N], f32), x + delta d, x0 there, x0p - x0 and max|x0p - x0| */
  dNorm: GpuTensor; xp: GpuTensor; x0p: GpuTensor; diff: GpuTensor; gNorm: GpuTensor;
  /** the perturbed pass's eps (the exact schedule; the fused one traces its batch instead) */
  epsP?: GpuTensor;
}

/** delta, xp, eps_p, x0p, g_raw = (x0p - x0) / delta, g = g_raw / max|g_raw| under `o` ("step{s}.k{k}"). */
export async function traceNewtonMove(o: Observe, ctx: GpuContext, m: NewtonMove, h: number): Promise<void> {
  if (!o.enabled) return;
  const dNorm = await ctx.read(m.dNorm);
  await o.values('delta', Array.from(dNorm, (v) => h / v), [dNorm.length]);
  await o.record(m.epsP ? { xp: m.xp, eps_p: m.epsP, x0p: m.x0p } : { xp: m.xp, x0p: m.x0p });
  await ctx.scope(() => o.record({
    g_raw: axpbyScaled(ctx, 0, m.diff, 1 / h, m.diff, m.dNorm, undefined, true),   // diff / delta
    g: axpbyScaled(ctx, 0, m.diff, 1, m.diff, m.gNorm),
  }));
}
