// Evaluating only the samples of a batch that are still taking inner steps (ours; K 'auto' per
// sample, stopping.ts). A stopped sample keeps its x, eps and x0 for the rest of the diffusion
// step, so its rows are copied through and only the others go through the noise model: a batch
// whose samples stop at different inner steps costs fewer evaluations. Rows are whole samples
// ([N, ...] tensors, NCHW), moved by buffer copies. `rows` null means every sample.
import type { GpuContext } from '../../gpu/context.js';
import type { GpuTensor } from '../../gpu/tensor.js';
import type { DiffusionStep, StepState } from './inner_method.js';

const rowBytes = (t: GpuTensor) => t.byteLength / t.shape[0]!;

/** The rows `idx` of t as one tensor [idx.length, ...]. */
export function gatherRows(ctx: GpuContext, t: GpuTensor, idx: readonly number[]): GpuTensor {
  const per = rowBytes(t), out = ctx.alloc([idx.length, ...t.shape.slice(1)], t.dtype);
  idx.forEach((n, j) => ctx.copy(t, out, n * per, j * per, per));
  return out;
}

/** A copy of `base` whose rows idx[j] are row j of `part`. */
export function withRows(ctx: GpuContext, base: GpuTensor, part: GpuTensor, idx: readonly number[]): GpuTensor {
  const per = rowBytes(base), out = ctx.alloc(base.shape, base.dtype);
  ctx.copy(base, out);
  idx.forEach((n, j) => ctx.copy(part, out, j * per, n * per, per));
  return out;
}

/** `moved` where the sample is in `rows`, `from` elsewhere (a stopped sample does not move). */
export function keepRows(ctx: GpuContext, moved: GpuTensor, from: GpuTensor, rows: readonly number[] | null): GpuTensor {
  if (!rows) return moved;
  const per = rowBytes(from), out = ctx.alloc(from.shape, from.dtype);
  ctx.copy(from, out);
  for (const n of rows) ctx.copy(moved, out, n * per, n * per, per);
  return out;
}

/** eps at x for the samples in `rows` (one model call on just those); the other rows are `rest`'s. */
export async function epsOfRows(step: DiffusionStep, x: GpuTensor, rows: readonly number[] | null, rest: GpuTensor): Promise<GpuTensor> {
  if (!rows) return step.eps(x);
  const xa = gatherRows(step.ctx, x, rows), ea = await step.eps(xa);
  const eps = withRows(step.ctx, rest, ea, rows);
  step.ctx.release(xa, ea);
  return eps;
}

/** eps and x0 at x, evaluating only `rows` (stopped samples: x is theirs from `state`, so eps and x0 are too). */
export async function evaluateRows(step: DiffusionStep, x: GpuTensor, rows: readonly number[] | null, state: StepState): Promise<StepState> {
  if (!rows) return step.evaluate(x);
  const eps = await epsOfRows(step, x, rows, state.eps);
  return { x, eps, x0: step.x0(x, eps) };
}
