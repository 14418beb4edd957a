// Kernel variants are chosen per adapter BY MEASUREMENT (ratchet's select_kernel, decided by a
// stopwatch instead of rules): the first time an op meets a shape class, every valid variant runs
// a small proxy problem of that class and the fastest wins. Choices are cached in memory under
// adapter + op + shape class + dtypes, and the cache can be exported / imported as a JSON object
// (the Node CLI keeps it in ~/.cache/tether/variants.json). Ops are synchronous (they only record
// dispatches), so a measurement cannot finish inside the first call: that call uses the
// wrapper's provisional variant and the measurement runs in the background; `await tuneVariant()`
// (or `variantsSettled()`) waits for the measured choice. Forcing: `forceVariant(op, v)` or the
// environment variable TETHER_MATMUL_VARIANT / TETHER_CONV2D_VARIANT; tests pass `variant` per call.
import type { GpuContext } from '../gpu/context.js';
import { adapterName } from '../gpu/device.js';
import { BufferUsage, MapMode } from '../gpu/flags.js';
import { packParams, type Kernel, type KernelTypes } from '../gpu/kernel.js';
import type { GpuTensor } from '../gpu/tensor.js';

export type KernelOp = 'matmul' | 'conv2d';

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

export interface VariantRecord {
  variant: string;
  /** ms of each candidate on the proxy problem: its fastest of TUNE_ROUNDS interleaved runs */
  ms: Record<string, number>;
  proxy: string;
}

const cache = new Map<string, VariantRecord>();
const inflight = new Map<string, Promise<string>>();
const forced = new Map<KernelOp, string>();
const chains = new WeakMap<GpuContext, Promise<unknown>>();
let autoTune = true;
/** interleaved timing rounds per measurement (see tuneVariant) */
const TUNE_ROUNDS = 3;

export function variantKey(ctx: GpuContext, op: KernelOp, shapeClass: string, dtype: string): string {
  return `${adapterName(ctx.adapter)}|${op}|${shapeClass}|${dtype}`;
}

/** Forces `op` to one variant everywhere (undefined: back to measurement). */
export function forceVariant(op: KernelOp, variant: string | undefined): void {
  if (variant === undefined) forced.delete(op);
  else forced.set(op, variant);
}

/** The forced variant of `op`: forceVariant(), else TETHER_<OP>_VARIANT (Node, for debugging). */
export function forcedVariant(op: KernelOp): string | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return forced.get(op) ?? (env?.[`TETHER_${op.toUpperCase()}_VARIANT`] || undefined);
}

/** false: never measure in the background; unmeasured classes keep the provisional variant. */
export function setAutoTune(on: boolean): void {
  autoTune = on;
}

export function exportVariantCache(): Record<string, VariantRecord> {
  return Object.fromEntries(cache);
}

/** Loads choices saved by exportVariantCache() (entries for other adapters are simply never hit). */
export function importVariantCache(saved: Record<string, VariantRecord>): void {
  for (const [k, v] of Object.entries(saved)) {
    if (v && typeof v.variant === 'string') cache.set(k, { variant: v.variant, ms: v.ms ?? {}, proxy: v.proxy ?? '' });
  }
}

export function clearVariantCache(): void {
  cache.clear();
}

/** The cached record of a class, if it was measured (or imported). */
export function cachedVariant(ctx: GpuContext, op: KernelOp, shapeClass: string, dtype: string): VariantRecord | undefined {
  return cache.get(variantKey(ctx, op, shapeClass, dtype));
}

/**
 * The variant for this call: forced, else measured (cached), else `provisional` while the
 * measurement of this class starts in the background.
 */
export function selectVariant<V extends string>(ctx: GpuContext, req: TuneRequest<V>, provisional: V): V {
  const f = forcedVariant(req.op);
  if (f !== undefined) {
    if (!req.candidates.includes(f as V)) {
      throw new Error(`${req.op}: forced variant '${f}' is not one of [${req.candidates.join(', ')}] on this adapter`);
    }
    return f as V;
  }
  const hit = cache.get(variantKey(ctx, req.op, req.shapeClass, req.dtype));
  if (hit && req.candidates.includes(hit.variant as V)) return hit.variant as V;
  if (autoTune && req.candidates.length > 1) void tuneVariant(ctx, req).catch(() => undefined);
  return provisional;
}

/** Measures every candidate on the class's proxy (once per key) and caches the fastest. */
export function tuneVariant<V extends string>(ctx: GpuContext, req: TuneRequest<V>): Promise<V> {
  const key = variantKey(ctx, req.op, req.shapeClass, req.dtype);
  const hit = cache.get(key);
  if (hit && req.candidates.includes(hit.variant as V)) return Promise.resolve(hit.variant as V);
  const running = inflight.get(key);
  if (running) return running as Promise<V>;
  // one measurement at a time per context, so timings never overlap each other
  const job = (chains.get(ctx) ?? Promise.resolve()).catch(() => undefined).then(async () => {
    const proxy = req.proxy(ctx);
    try {
      const ms: Record<string, number> = {};
      // GPUs finish a proxy in microseconds, near the timer's quantum: repeat it inside the pass
      const inner = ctx.adapter.isFallbackAdapter ? 1 : 10;
      // Rounds interleave the candidates (in a rotating order; each run after its own warm-up) and
      // each candidate keeps its fastest run: on a CPU adapter other processes share the cores,
      // and a load spike during one candidate's turn must not make it lose (timed one after the
      // other, the embedded UNet got the regblock conv for a class where it is 3-5x slower).
      for (let round = 0; round < TUNE_ROUNDS; round++) {
        for (let i = 0; i < req.candidates.length; i++) {
          const v = req.candidates[(i + round) % req.candidates.length]!;
          ms[v] = Math.min(ms[v] ?? Infinity, await timePlans(ctx, proxy.plan(v), 1, inner));
        }
      }
      const best = req.candidates.reduce((a, b) => (ms[b]! < ms[a]! ? b : a));
      cache.set(key, { variant: best, ms, proxy: proxy.label });
      return best;
    } finally {
      proxy.dispose();
    }
  }).finally(() => inflight.delete(key));
  chains.set(ctx, job);
  inflight.set(key, job);
  return job;
}

/** Resolves when every background measurement started so far has finished. */
export async function variantsSettled(): Promise<void> {
  await Promise.allSettled([...inflight.values()]);
}

/**
 * Median GPU time (ms) of one run of `plans` over `reps` timed passes of `inner` runs each, after
 * one warm-up (lavapipe compiles shaders at the first dispatch). Uses timestamp queries when the device has them, so work recorded by
 * others in between is not counted; otherwise wall time from submit to onSubmittedWorkDone.
 */
export async function timePlans(ctx: GpuContext, plans: DispatchPlan[], reps = 3, inner = 1): Promise<number> {
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
    const warm = dev.createCommandEncoder();
    encodeRun(warm, -1);
    dev.queue.submit([warm.finish()]);
    await dev.queue.onSubmittedWorkDone();
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
