// Several constraints at once (e.g. inpainting + style): their error directions are added after
// each is normalised by its own per-sample infinity norm, so no constraint dominates by scale:
//   d = sum_i w_i d_i / max|d_i|        (a direction that is exactly 0 contributes 0)
// The sampler normalises the sum again (delta = h / max|d|), so only the weights' ratios matter.
import type { GpuContext } from '../../gpu/context.js';
import type { GpuTensor } from '../../gpu/tensor.js';
import { axpbyScaled } from '../../kernels/axpby_scaled.js';
import { maxAbsPerSample } from '../../kernels/reduce.js';
import type { Constraint } from './constraint.js';

export interface WeightedConstraint { constraint: Constraint; weight?: number }

export class CombinedConstraint implements Constraint {
  readonly name: string;
  readonly parts: readonly { constraint: Constraint; weight: number }[];

  constructor(parts: readonly WeightedConstraint[]) {
    if (parts.length === 0) throw new Error('combined constraint: no constraints given');
    this.parts = parts.map((p) => ({ constraint: p.constraint, weight: p.weight ?? 1 }));
    for (const p of this.parts) if (!Number.isFinite(p.weight)) throw new Error(`combined constraint: weight ${p.weight} of ${p.constraint.name}`);
    this.name = this.parts.map((p) => p.constraint.name).join('+');
    // replacement (the 'replace' baseline) is well defined only when one part knows the pixels
    const replacers = this.parts.filter((p) => p.constraint.replaceKnown);
    if (replacers.length === 1) {
      const c = replacers[0].constraint;
      this.replaceKnown = (ctx, x, a, b, z) => c.replaceKnown!(ctx, x, a, b, z);
    }
  }

  replaceKnown?: Constraint['replaceKnown'];

  async direction(ctx: GpuContext, x0: GpuTensor, trace?: (name: string, t: GpuTensor) => Promise<void>): Promise<GpuTensor> {
    let acc: GpuTensor | null = null;
    for (const [i, { constraint, weight }] of this.parts.entries()) {
      const prefix = `${constraint.name}${this.parts.length > 1 ? i : ''}`;
      const d = await constraint.direction(ctx, x0, trace ? (n, t) => trace(`${prefix}.${n}`, t) : undefined);
      const m = maxAbsPerSample(ctx, d);
      const next = axpbyScaled(ctx, acc ? 1 : 0, acc ?? d, weight, d, m); // acc + w d / max|d| (0 where max|d| = 0)
      if (trace) await trace(`${prefix}.d`, d);
      ctx.release(d, m, acc ?? undefined);
      acc = next;
    }
    return acc!;
  }

  /** Per-sample residuals of every part that reports one, by part name (units differ: never summed). */
  async residuals(ctx: GpuContext, x0: GpuTensor): Promise<Record<string, number[]>> {
    const out: Record<string, number[]> = {};
    for (const [i, { constraint }] of this.parts.entries()) {
      if (constraint.residual) out[`${constraint.name}${this.parts.length > 1 ? i : ''}`] = await constraint.residual(ctx, x0);
    }
    return out;
  }

  destroy(ctx: GpuContext): void {
    for (const { constraint } of this.parts) constraint.destroy?.(ctx);
  }
}
