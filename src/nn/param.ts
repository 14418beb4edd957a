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
  /** Records every uploaded tensor so a model whose load fails can free what it uploaded. */
  arena?: ParamArena;
}

/**
 * The resident tensors of one model load. Loads run concurrently, so when one fails others are
 * still reading: abort() frees what was uploaded, and uploads that finish later free themselves.
 */
export class ParamArena {
  readonly tensors: GpuTensor[] = [];
  private _aborted = false;

  get aborted(): boolean { return this._aborted; }

  add(ctx: GpuContext, t: GpuTensor): GpuTensor {
    if (this._aborted) {
      ctx.destroy(t);
      throw new Error('model load aborted');
    }
    this.tensors.push(t);
    return t;
  }

  abort(ctx: GpuContext): void {
    this._aborted = true;
    for (const t of this.tensors.splice(0)) ctx.destroy(t);
  }
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
  if (opts.arena?.aborted) throw new Error('model load aborted');
  const t = ctx.upload(data, ref.shape, dtype, true);
  return opts.arena ? opts.arena.add(ctx, t) : t;
}

/** Frees resident weights (safe with undefined entries). */
export function destroyParams(ctx: GpuContext, ...ts: (GpuTensor | undefined)[]): void {
  for (const t of ts) if (t) ctx.destroy(t);
}

/**
 * Builds a whole model from `weights` in one pass: `build` starts every module's load (which
 * checks keys and shapes as it goes), then every key under `weights` must have been used
 * (assertAllConsumed) unless `strict` is false. On any failure the uploads are freed and the
 * error gives the first failure plus the list of missing and unused keys.
 */
export async function loadModel<M extends { destroy(ctx: GpuContext): void }>(
  ctx: GpuContext, weights: Weights, opts: ParamOptions, build: (opts: ParamOptions) => Promise<M>,
  strict = true): Promise<M> {
  const arena = new ParamArena();
  let model: M;
  try {
    model = await build({ ...opts, arena });
  } catch (e) {
    arena.abort(ctx);
    // the first failure (e.g. a shape mismatch) plus the whole key report, when keys are the cause
    let report = '';
    if (strict) try { weights.assertAllConsumed(); } catch (r) { report = `\n${(r as Error).message}`; }
    if (report && e instanceof Error) throw new Error(`${e.message}${report}`, { cause: e });
    throw e;
  }
  if (strict) {
    try {
      weights.assertAllConsumed();
    } catch (e) {
      model.destroy(ctx);
      throw e;
    }
  }
  return model;
}
