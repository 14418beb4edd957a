// Kernel variants are chosen per adapter BY MEASUREMENT (ratchet's select_kernel, decided by a
// stopwatch instead of rules): every valid variant runs a small proxy problem of a shape class and
// the fastest wins. Choices live in the context's VariantTable (src/gpu/variant_table.ts), whose
// entries never change once set. Ops are synchronous (they only record dispatches), so a class met
// for the first time cannot be measured inside that call: it uses the wrapper's provisional
// variant, and the class waits in `table.pending` until `settleVariants(ctx)` measures it. Nothing
// measures in the background: tasks run a discovery pass, settle, and then run with the table
// frozen (src/pipeline/variant_warmup.ts), so no choice changes during a run. Forcing:
// `forceVariant(op, v)` or TETHER_MATMUL_VARIANT / _CONV2D_ / _GROUP_NORM_VARIANT (debugging); tests pass
// `variant` per call.
import type { GpuContext } from '../gpu/context.js';
import { adapterName } from '../gpu/device.js';
import { BufferUsage, MapMode } from '../gpu/flags.js';
import { packParams, type Kernel, type KernelTypes } from '../gpu/kernel.js';
import type { GpuTensor } from '../gpu/tensor.js';
import type { VariantRecord } from '../gpu/variant_table.js';

export type { VariantRecord } from '../gpu/variant_table.js';
export type KernelOp = 'matmul' | 'conv2d' | 'group_norm';

/** One dispatch, fully described: what ctx.dispatch records, and what the tuner times on its own. */
export interface DispatchPlan {
  kernel: Kernel;
  bindings: Record<string, GpuTensor>;
  params: Record<string, number>;
  workgroups: [number, number, number];
  types: KernelTypes;
  overrides: Record<string, number>;
}

export function recordPlan(ctx: GpuContext, plan: DispatchPlan): void {
  ctx.dispatch(plan.kernel, plan.bindings, plan.params, plan.workgroups, { types: plan.types, overrides: plan.overrides });
}

/** A class of shapes that share a variant, with a cheap representative problem to time. */
export interface TuneRequest<V extends string> {
  op: KernelOp;
  /** e.g. 'nt|m>256|n<=512|k<=1024' */
  shapeClass: string;
  /** storage types, e.g. 'f32/f16' (activations / weights) */
  dtype: string;
  /** the variants valid on this adapter for this problem */
  candidates: readonly V[];
  /** uploads the proxy problem once; plan(v) gives the dispatches of variant v on it */
  proxy(ctx: GpuContext): { label: string; plan(v: V): DispatchPlan[]; dispose(): void };
}

const forced = new Map<KernelOp, string>();
const chains = new WeakMap<GpuContext, Promise<unknown>>();
let autoTune = true;
/** interleaved timing rounds per measurement (see tuneVariant) */
const TUNE_ROUNDS = 3;

export function variantKey(ctx: GpuContext, op: KernelOp, shapeClass: string, dtype: string): string {
  return `${adapterName(ctx.adapter)}|${op}|${shapeClass}|${dtype}`;
}

/** Forces `op` to one variant everywhere (undefined: back to the table). */
export function forceVariant(op: KernelOp, variant: string | undefined): void {
  if (variant === undefined) forced.delete(op);
  else forced.set(op, variant);
}

/** The forced variant of `op`: forceVariant(), else TETHER_<OP>_VARIANT (Node, for debugging). */
export function forcedVariant(op: KernelOp): string | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return forced.get(op) ?? (env?.[`TETHER_${op.toUpperCase()}_VARIANT`] || undefined);
}

/**
 * false: settling never measures; a class met for the first time is pinned to its provisional
 * variant at once (tests that compare against references need no timing runs).
 */
export function setAutoTune(on: boolean): void {
  autoTune = on;
}

export function exportVariantCache(ctx: GpuContext): Record<string, VariantRecord> {
  return ctx.variants.toJSON().entries;
}

/** Loads choices saved by exportVariantCache() (entries for other adapters are simply never hit). */
export function importVariantCache(ctx: GpuContext, saved: Record<string, VariantRecord>): void {
  ctx.variants.load({ version: 1, entries: saved, discovered: [] });
}

export function clearVariantCache(ctx: GpuContext): void {
  ctx.variants.clear();
}

/** The table's record of a class, if it was measured, pinned or imported. */
export function cachedVariant(ctx: GpuContext, op: KernelOp, shapeClass: string, dtype: string): VariantRecord | undefined {
  return ctx.variants.get(variantKey(ctx, op, shapeClass, dtype));
}

/**
 * The variant for this call: forced, else the table's, else `provisional` — pinned at once when
 * the table is frozen (or measuring is off or there is nothing to choose from), otherwise with
 * the class left pending for settleVariants().
 */
export function selectVariant<V extends string>(ctx: GpuContext, req: TuneRequest<V>, provisional: V): V {
  const table = ctx.variants;
  const key = variantKey(ctx, req.op, req.shapeClass, req.dtype);
  const f = forcedVariant(req.op);
  if (f !== undefined) {
    if (!req.candidates.includes(f as V)) {
      throw new Error(`${req.op}: forced variant '${f}' is not one of [${req.candidates.join(', ')}] on this adapter`);
    }
    table.noteUse(key, `forced:${f}`);
    return f as V;
  }
  const hit = table.get(key);
  if (hit) {
    // a class can hold geometries some variants cannot run (e.g. 'rows' needs widths that are
    // multiples of 4): those use the provisional variant, a fixed function of the geometry, and the
    // entry stays as it is (it may already have been used in this run)
    const v = req.candidates.includes(hit.variant as V) ? hit.variant as V : provisional;
    table.noteUse(key, v);
    return v;
  }
  if (table.frozen || !autoTune || req.candidates.length < 2) {
    const why = table.frozen ? 'pinned: first met while the table was frozen' : !autoTune ? 'pinned: measuring off' : 'the only candidate';
    table.set(key, { variant: provisional, ms: {}, proxy: why });
    table.noteUse(key, provisional);
    return provisional;
  }
  if (!table.pending.has(key)) table.pending.set(key, () => measureVariant(ctx, req));
  return provisional;
}

/** Measures every class met but not yet chosen (one after the other); resolves when all are set. */
export async function settleVariants(ctx: GpuContext): Promise<void> {
  const table = ctx.variants;
  while (table.pending.size > 0) {
    const [key, measure] = table.pending.entries().next().value!;
    table.pending.delete(key);
    table.set(key, await measure());
  }
}

/** Back-compat name for settleVariants (benches call it after a warm-up forward). */
export const variantsSettled = settleVariants;

/**
 * The class's variant: the table's when it has a valid one, else measured now — and set, unless
 * the class already has an entry (entries never change; benches then just get the measurement).
 */
export async function tuneVariant<V extends string>(ctx: GpuContext, req: TuneRequest<V>): Promise<V> {
  const key = variantKey(ctx, req.op, req.shapeClass, req.dtype);
  const hit = ctx.variants.get(key);
  if (hit && req.candidates.includes(hit.variant as V)) return hit.variant as V;
  if (ctx.variants.frozen) throw new Error(`${req.op}: cannot measure ${req.shapeClass} while the variant table is frozen (during a run)`);
  const rec = await measureVariant(ctx, req);
  ctx.variants.pending.delete(key);
  ctx.variants.set(key, rec);
  return rec.variant as V;
}

async function measureVariant<V extends string>(ctx: GpuContext, req: TuneRequest<V>): Promise<VariantRecord> {
  // one measurement at a time per context, so timings never overlap each other
  const job = (chains.get(ctx) ?? Promise.resolve()).catch(() => undefined).then(async () => {
    const proxy = req.proxy(ctx);
    try {
      const ms: Record<string, number> = {};
      const inner = await repeatsPerRun(ctx, proxy, req.candidates);
      // Rounds interleave the candidates (in a rotating order; each run after its own warm-up) and
      // each candidate keeps its fastest run: on a CPU adapter other processes share the cores,
      // and a load spike during one candidate's turn must not make it lose (timed one after the
      // other, the embedded UNet got the regblock conv for a class where it is 3-5x slower).
      for (let round = 0; round < TUNE_ROUNDS; round++) {
        for (let i = 0; i < req.candidates.length; i++) {
          const v = req.candidates[(i + round) % req.candidates.length]!;
          // (on a CPU adapter repeatsPerRun already ran every candidate: no second warm-up)
          ms[v] = Math.min(ms[v] ?? Infinity, await timePlans(ctx, proxy.plan(v), 1, inner[v]!, !ctx.adapter.isFallbackAdapter));
        }
      }
      const best = req.candidates.reduce((a, b) => (ms[b]! < ms[a]! ? b : a));
      return { variant: best, ms, proxy: proxy.label, repeats: inner };
    } finally {
      proxy.dispose();
    }
  });
  chains.set(ctx, job);
  return job;
}

/** A timed pass should span at least this long on a CPU adapter (see repeatsPerRun). */
const CPU_PASS_MS = 1;
const MAX_REPEATS = 64;

/**
 * How many times each candidate's proxy runs inside one timed pass. GPUs finish a proxy in
 * microseconds, near the timer's quantum: 10 repeats. A CPU adapter's timer is coarse too
 * (lavapipe's timestamps step by 65.5 us) while its proxies take 0.05-2 ms, so one run measured
 * as 0-3 quanta: candidates tied, and the winner was the first in the list, not the fastest (the
 * embedded UNet's 1x1 shortcuts took a 4x slower variant). There each candidate is timed once,
 * then repeated until its pass spans >= CPU_PASS_MS (>= 15 quanta, ~7% resolution).
 */
export async function repeatsPerRun<V extends string>(ctx: GpuContext, proxy: { plan(v: V): DispatchPlan[] },
                                               candidates: readonly V[]): Promise<Record<string, number>> {
  const inner: Record<string, number> = {};
  for (const v of candidates) {
    if (!ctx.adapter.isFallbackAdapter) { inner[v] = 10; continue; }
    const once = await timePlans(ctx, proxy.plan(v), 3, 1);  // median of 3: one preempted pass must not set it
    inner[v] = Math.min(MAX_REPEATS, Math.max(1, Math.ceil(CPU_PASS_MS / Math.max(once, 0.03))));
  }
  return inner;
}

/**
 * Median GPU time (ms) of one run of `plans` over `reps` timed passes of `inner` runs each, after
 * one warm-up (lavapipe compiles shaders at the first dispatch; `warmUp` false: the caller ran
 * these plans already). Uses timestamp queries when the device has them, so work recorded by
 * others in between is not counted; otherwise wall time from submit to onSubmittedWorkDone.
 */
export async function timePlans(ctx: GpuContext, plans: DispatchPlan[], reps = 3, inner = 1, warmUp = true): Promise<number> {
  const dev = ctx.device;
  const groups = plans.map((plan) => {
    const { pipeline, layout } = ctx.pipelines.get(plan.kernel, plan.types, { ...plan.kernel.overrides, ...plan.overrides });
    const ubuf = dev.createBuffer({ size: Math.max(16, plan.kernel.paramBytes), usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST });
    const data = new ArrayBuffer(Math.max(16, plan.kernel.paramBytes));
    packParams(plan.kernel, plan.params, new DataView(data), 0);
    dev.queue.writeBuffer(ubuf, 0, data);
    const entries: GPUBindGroupEntry[] = plan.kernel.bindings.map((b) => {
      if (b.kind === 'uniform') return { binding: 0, resource: { buffer: ubuf, size: plan.kernel.paramBytes } };
      const t = plan.bindings[b.name];
      if (!t) throw new Error(`timePlans: ${plan.kernel.name} binding '${b.name}' not given`);
      return { binding: b.binding, resource: { buffer: t.buffer, size: Math.ceil(t.byteLength / 4) * 4 } };
    });
    return { pipeline, bindGroup: dev.createBindGroup({ layout, entries }), ubuf, wg: plan.workgroups };
  });
  const stamps = ctx.hasTimestamps;
  const qs = stamps ? dev.createQuerySet({ type: 'timestamp', count: 2 * reps }) : null;
  const encodeRun = (enc: GPUCommandEncoder, rep: number) => {
    const pass = enc.beginComputePass(qs && rep >= 0
      ? { timestampWrites: { querySet: qs, beginningOfPassWriteIndex: 2 * rep, endOfPassWriteIndex: 2 * rep + 1 } } : {});
    for (let i = 0; i < inner; i++) {
      for (const g of groups) {
        pass.setPipeline(g.pipeline);
        pass.setBindGroup(0, g.bindGroup);
        pass.dispatchWorkgroups(...g.wg);
      }
    }
    pass.end();
  };
  try {
    await ctx.sync();  // the caller's recorded work runs before, not during, the measurement
    if (warmUp) {
      const warm = dev.createCommandEncoder();
      encodeRun(warm, -1);
      dev.queue.submit([warm.finish()]);
      await dev.queue.onSubmittedWorkDone();
    }
    const times: number[] = [];
    if (qs) {
      const enc = dev.createCommandEncoder();
      for (let r = 0; r < reps; r++) encodeRun(enc, r);
      const resolve = dev.createBuffer({ size: 16 * reps, usage: BufferUsage.QUERY_RESOLVE | BufferUsage.COPY_SRC });
      const staging = dev.createBuffer({ size: 16 * reps, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
      enc.resolveQuerySet(qs, 0, 2 * reps, resolve, 0);
      enc.copyBufferToBuffer(resolve, 0, staging, 0, 16 * reps);
      dev.queue.submit([enc.finish()]);
      await staging.mapAsync(MapMode.READ);
      const t = new BigUint64Array(staging.getMappedRange().slice(0));
      staging.destroy();
      resolve.destroy();
      for (let r = 0; r < reps; r++) times.push(Number(t[2 * r + 1]! - t[2 * r]!) / 1e6);
    } else {
      for (let r = 0; r < reps; r++) {
        const enc = dev.createCommandEncoder();
        encodeRun(enc, r);
        const t0 = performance.now();
        dev.queue.submit([enc.finish()]);
        await dev.queue.onSubmittedWorkDone();
        times.push(performance.now() - t0);
      }
    }
    await ctx.checkErrors();
    times.sort((a, b) => a - b);
    return times[times.length >> 1]! / inner;
  } finally {
    qs?.destroy();
    for (const g of groups) g.ubuf.destroy();
  }
}

/** Coarse size bucket for shape classes: the first bound in `bounds` that n does not exceed. */
export function bucket(n: number, bounds: readonly number[]): string {
  for (const b of bounds) if (n <= b) return `<=${b}`;
  return `>${bounds[bounds.length - 1]}`;
}
