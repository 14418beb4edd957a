// Uploading one checkpoint tensor as a resident GPU weight. The storage dtype is chosen once per
// model: f16 when the adapter has shader-f16 (half the memory and bandwidth; kernels accumulate in
// f32), else f32. F16 checkpoint tensors go to an f16 GPU buffer bit for bit, with no f32 round
// trip; F32/BF16 tensors are rounded to nearest even, exactly as torch's `.half()` does.
import type { GpuContext } from '../gpu/context.js';
import type { DType, GpuTensor } from '../gpu/tensor.js';
import type { Weights } from '../weights/weights.js';

export interface ParamOptions {
  /** GPU storage type of weights; default 'f16' when ctx.hasF16, else 'f32'. */
  weightDtype?: DType;
}

/** The weight storage type a model built with `opts` uses on this context. */
export function weightDtypeOf(ctx: GpuContext, opts: ParamOptions = {}): DType {
  const dt = opts.weightDtype ?? (ctx.hasF16 ? 'f16' : 'f32');
  if (dt === 'f16' && !ctx.hasF16) throw new Error('weightDtype f16 asked for, but this adapter has no shader-f16');
  return dt;
}

/**
 * Reads `w.<name>` (shape-checked, -1 = any size; recorded as consumed) and uploads it as a
 * resident tensor of `expectedShape`'s view (the checkpoint's own shape when a dim is -1).
 */
export async function loadParam(ctx: GpuContext, w: Weights, name: string | number,
                                expectedShape: readonly number[], opts: ParamOptions = {}): Promise<GpuTensor> {
  const dtype = weightDtypeOf(ctx, opts);
  const ref = w.tensor(name, expectedShape); // throws now (synchronously) on a missing/misshapen key
  const data = dtype === 'f16' ? await ref.readF16Bits() : await ref.readF32();
  return ctx.upload(data, ref.shape, dtype, true);
}

/** Frees resident weights (safe with undefined entries). */
export function destroyParams(ctx: GpuContext, ...ts: (GpuTensor | undefined)[]): void {
  for (const t of ts) if (t) ctx.destroy(t);
}
