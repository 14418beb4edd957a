// Dispatches and bytes written to pooled (intermediate) buffers per UNet forward, from the
// context's observation-only counters (src/gpu/dispatch_counts.ts): issue 14's "before" numbers
// for the fusions. Used by bench/unet.ts.
//
// SD 1.4 at 512 x 512 (latent 64x64) is far too slow to execute on a 2-core software adapter, so
// it is counted on a record-only context: the real GpuContext, on the real adapter and device, but
// whose queue never runs anything (submit and writeBuffer are no-ops). Every op records its
// dispatches exactly as in a real run (same wrappers, shape checks, pipelines and bind groups), so
// the counts are the real ones; the outputs are garbage and nothing may be read back. Kernel
// variants are pinned to each wrapper's provisional choice (nothing can be measured), which is why
// bench/unet.ts also counts the tiny UNet both ways: equal counts say the choice does not change them.
import type { GpuContext } from '../src/gpu/context.js';
import { createGpuContext } from '../src/gpu/device.js';
import { nodeGpu } from '../src/gpu/device_node.js';
import type { KernelCount } from '../src/gpu/dispatch_counts.js';
import type { UNet2DConditionModel } from '../src/unet/unet_2d_condition.js';
import { Rng } from '../src/util/rng.js';

export interface ForwardCounts {
  batch: number; latent: [number, number];
  dispatches: number; copies: number;
  /** bytes of pooled tensors bound read_write, plus bytes copied into pooled tensors */
  writtenMiB: number;
  /** most dispatched kernels first */
  byKernel: { kernel: string; dispatches: number; writtenMiB: number }[];
}

const MiB = 2 ** 20;

/** The counters of one UNet forward at batch B on an h x w latent (inputs made and freed outside the count). */
export async function countForward(ctx: GpuContext, unet: UNet2DConditionModel, B: number, h: number, w: number,
                                   sync = true): Promise<ForwardCounts> {
  const cfg = unet.config;
  const rng = new Rng(7);
  const x = ctx.upload(rng.normals(B * cfg.in_channels * h * w), [B, cfg.in_channels, h, w]);
  const e = ctx.upload(rng.normals(B * 77 * cfg.cross_attention_dim), [B, 77, cfg.cross_attention_dim]);
  const ts = Array.from({ length: B }, (_, i) => 981 - 40 * i);
  ctx.counts.clear();
  const y = unet.forward(ctx, x, ts, e);
  const snap = ctx.counts.snapshot();
  ctx.release(y, x, e);
  if (sync) await ctx.sync();
  else ctx.flush();
  const copies = snap.find(([k]) => k === 'copy')?.[1].dispatches ?? 0;
  const total = snap.reduce((s, [, c]) => ({ dispatches: s.dispatches + c.dispatches, bytes: s.bytes + c.bytes }),
    { dispatches: 0, bytes: 0 } as KernelCount);
  return {
    batch: B, latent: [h, w], dispatches: total.dispatches - copies, copies, writtenMiB: total.bytes / MiB,
    byKernel: snap.map(([kernel, c]) => ({ kernel, dispatches: c.dispatches, writtenMiB: c.bytes / MiB })),
  };
}

/** Calls bound to the real object, so native WebGPU methods see their own `this`. */
function bound<T extends object>(target: T, over: Record<string | symbol, unknown>): T {
  return new Proxy(target, {
    get(t, k) {
      if (k in over) return over[k];
      const v = Reflect.get(t, k, t) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
}

/**
 * A GpuContext on the real adapter whose queue never executes: for counting dispatches of models
 * too slow to run here. Buffers are created (never written or cleared), pipelines and bind groups
 * are real, command buffers are encoded and dropped.
 */
export async function recordOnlyContext(): Promise<GpuContext> {
  const gpu = nodeGpu();
  const fakeQueue = {
    label: 'record-only queue', submit() {}, writeBuffer() {}, writeTexture() {},
    onSubmittedWorkDone: async () => {},
  };
  const wrapped = bound(gpu, {
    requestAdapter: async (o?: GPURequestAdapterOptions) => {
      const a = await gpu.requestAdapter(o);
      return a && bound(a, {
        requestDevice: async (d?: GPUDeviceDescriptor) => bound(await a.requestDevice(d), { queue: fakeQueue }),
      });
    },
  });
  return createGpuContext(wrapped);
}

/** Markdown: counts per model, latent and batch, then the top kernels of the models in `topOf` (all when omitted). */
export function countsTable(rows: { model: string; note: string; c: ForwardCounts }[], topOf?: string[], top = 12): string {
  const lines = [
    '| model | latent | batch | dispatches | copies | MiB written to pooled buffers | counted on |',
    '|---|---|---:|---:|---:|---:|---|',
    ...rows.map(({ model, note, c }) => `| ${model} | ${c.latent.join('x')} | ${c.batch} | ${c.dispatches} | ${c.copies} | ` +
      `${c.writtenMiB.toFixed(1)} | ${note} |`),
  ];
  // per model, the top kernels of its largest counted forward (most bytes)
  const largest = new Map<string, ForwardCounts>();
  for (const { model, c } of rows) {
    if ((!topOf || topOf.includes(model)) && c.writtenMiB > (largest.get(model)?.writtenMiB ?? -1)) largest.set(model, c);
  }
  for (const [model, c] of largest) {
    lines.push('', `Top kernels by count, ${model} (latent ${c.latent.join('x')}, batch ${c.batch}):`, '',
      '| kernel | dispatches | share | MiB written |', '|---|---:|---:|---:|',
      ...c.byKernel.slice(0, top).map((k) => `| ${k.kernel} | ${k.dispatches} | ` +
        `${((100 * k.dispatches) / (c.dispatches + c.copies)).toFixed(1)}% | ${k.writtenMiB.toFixed(1)} |`));
  }
  return lines.join('\n');
}
