// Issue 15's last gradient baseline gap, measured without executing: SD 1.4's VAE decoder VJP
// (src/vae/vjp) at a 64 x 64 latent (a 512 x 512 image) on a 128 MiB storage-binding limit. Its
// activations reach [1, 256, 512, 512] f32 (256 MiB), so it must run on channel chunks. Runs on a
// record-only context (bench/unet_counts.ts: the real device and every wrapper's real shape and
// binding checks, a queue that never runs), so it says whether decodeVjp is accepted, how it is
// split, and the pool's peak for the schedule. It gives no times and no values: nothing is executed.
// Weights are synthetic, from SD 1.4's key manifest (as test/modules/vae_sd14.test.ts).
// Usage: npx tsx bench/decoder_vjp_memory.ts [--latent 64] [--limit-mib 128]
import { readFileSync } from 'node:fs';
import { adapterName } from '../src/gpu/device.js';
import type { GpuContext } from '../src/gpu/context.js';
import type { DType } from '../src/gpu/tensor.js';
import { setAutoTune } from '../src/kernels/select_variant.js';
import { splitPlan } from '../src/nn/channel_chunks.js';
import { AutoencoderKL } from '../src/vae/autoencoder_kl.js';
import { parseVaeConfig } from '../src/vae/config.js';
import { openSafetensors } from '../src/weights/safetensors.js';
import { Weights } from '../src/weights/weights.js';
import { goldenFile, syntheticSafetensors } from '../test/modules/unet_synthetic.js';
import { recordOnlyContext } from './unet_counts.js';

const arg = (k: string, d: number) => { const i = process.argv.indexOf(`--${k}`); return i > 0 ? Number(process.argv[i + 1]) : d; };
const LATENT = arg('latent', 64), LIMIT = arg('limit-mib', 128) * 2 ** 20;
const MiB = (b: number) => (b / 2 ** 20).toFixed(1);

export interface DecoderVjpMemory {
  dtype: DType; latent: number; budgetMiB: number;
  decodePeak: number; vjpPeak: number; residentMiB: number;
  dispatches: number; copies: number;
  /** activations the plan splits, as "C@HxW:parts" */
  splits: string[];
}

async function sd14Vae(ctx: GpuContext, dtype: DType): Promise<AutoencoderKL> {
  const m = JSON.parse(readFileSync(goldenFile('sd14_configs/sd14_key_manifest.json'), 'utf8')) as {
    diffusers: Record<string, Record<string, number[]>>;
  };
  const shapes = m.diffusers['vae/diffusion_pytorch_model.safetensors']!;
  const file = await openSafetensors(syntheticSafetensors(shapes, dtype === 'f16' ? 'F16' : 'F32', 'synthetic SD 1.4 vae'));
  const w = Weights.fromFiles([file], { label: 'vae (synthetic SD 1.4)' });
  const cfg = parseVaeConfig(readFileSync(goldenFile('sd14_configs/vae/config.json'), 'utf8'));
  return AutoencoderKL.load(ctx, w, cfg, { weightDtype: dtype });
}

/** Peak pooled bytes above what was live before, dispatches and copies of fn (its result released). */
function measure(ctx: GpuContext, fn: () => ReturnType<GpuContext['alloc']>) {
  const base = ctx.pool.inUse;
  ctx.pool.resetPeak();
  ctx.counts.clear();
  const y = fn();
  const peak = ctx.pool.peak - base;
  const snap = ctx.counts.snapshot();
  ctx.release(y);
  const copies = snap.find(([k]) => k === 'copy')?.[1].dispatches ?? 0;
  return { peak, copies, dispatches: snap.reduce((s, [, c]) => s + c.dispatches, 0) - copies };
}

export async function decoderVjpMemory(ctx: GpuContext, dtype: DType, h: number, limit: number): Promise<DecoderVjpMemory> {
  const r0 = ctx.residentBytes;
  const vae = await sd14Vae(ctx, dtype);
  vae.maxChunkBytes = Math.min(vae.maxChunkBytes, limit);
  const cfg = vae.config, f = vae.downFactor, N = 1;
  const z = ctx.upload(new Float32Array(cfg.latentChannels * h * h), [N, cfg.latentChannels, h, h]);
  const u = ctx.upload(new Float32Array(cfg.outChannels * h * f * h * f), [N, cfg.outChannels, h * f, h * f]);
  const dec = measure(ctx, () => vae.decode(ctx, z));
  const vjp = measure(ctx, () => vae.decodeVjp(ctx, z, u));   // throws if refused, or if any binding is over the limit
  await ctx.sync();                                           // and any WebGPU validation error surfaces here
  const plan = splitPlan(cfg.normNumGroups, vae.chunkBudget), rev = [...cfg.blockOutChannels].reverse(), splits = new Set<string>();
  rev.forEach((c, i) => {
    const s = h * 2 ** i;
    for (const [C, S] of [[i === 0 ? c : rev[i - 1]!, s], [c, s], [c, 2 * s]] as const) {
      const p = plan([N, C, S, S]).length;
      if (p > 1 && (S === s || i < rev.length - 1)) splits.add(`${C}@${S}x${S}:${p}`);
    }
  });
  const residentMiB = (ctx.residentBytes - r0) / 2 ** 20;   // weights and the chunked ops' weight slices
  ctx.release(z, u);
  vae.destroy(ctx);
  ctx.pool.trim();
  return { dtype, latent: h, budgetMiB: vae.chunkBudget / 2 ** 20, decodePeak: dec.peak, vjpPeak: vjp.peak, residentMiB,
    dispatches: vjp.dispatches, copies: vjp.copies, splits: [...splits] };
}

async function main() {
  setAutoTune(false);
  const ctx = await recordOnlyContext();
  const dev = Math.min(ctx.limits.maxStorageBufferBindingSize, ctx.limits.maxBufferSize);
  console.log(`Adapter: ${adapterName(ctx.adapter)} (record-only); device binding limit ${MiB(dev)} MiB, budget ${MiB(Math.min(dev, LIMIT))} MiB`);
  const rows: DecoderVjpMemory[] = [];
  for (const dt of (ctx.hasF16 ? ['f32', 'f16'] : ['f32']) as DType[]) {
    const r = await decoderVjpMemory(ctx, dt, LATENT, LIMIT);
    console.log(`${dt} ${LATENT}x${LATENT}: accepted; decode peak ${MiB(r.decodePeak)} MiB, vjp peak ${MiB(r.vjpPeak)} MiB, ` +
      `${r.dispatches} dispatches + ${r.copies} copies; split: ${r.splits.join(' ')}`);
    rows.push(r);
  }
  console.log('\n| model | weights | latent | binding budget | measured | decoderVjp | peak MiB vae.decode | peak MiB decoderVjp | vjp / decode | dispatches + copies (vjp) | weights + slices MiB |');
  console.log('|---|---|---|---:|---|---|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(`| SD 1.4 VAE topology (synthetic) | ${r.dtype} | ${r.latent}x${r.latent} | ${r.budgetMiB.toFixed(0)} MiB | record-only (memory) | accepted | ` +
      `${MiB(r.decodePeak)} | ${MiB(r.vjpPeak)} | ${(r.vjpPeak / r.decodePeak).toFixed(2)} | ${r.dispatches} + ${r.copies} | ${r.residentMiB.toFixed(0)} |`);
  }
  process.exit(0);
}

if (process.argv[1]?.endsWith('decoder_vjp_memory.ts')) main().catch((e) => { console.error(e); process.exit(1); });
