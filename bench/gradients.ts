// Issue 15's trade-off, one run: per inner step, time and peak activation memory of the method's
// forward-only schedules against the gradient baseline (DPS: J^T d by unet.vjp).
//   newton/exact: 2 forwards at batch 1      newton/fused: 1 forward at batch 2
//   dps:          1 VJP (tape forward + per-layer recompute + backward) + 1 forward at batch 1
// Timed (real adapter): the embedded model (weights/fmnist, its native latent) and SD 1.4's UNet
// topology with synthetic weights at --latent (default 16: a 64x64 VJP takes many minutes on lavapipe).
// Memory at 512² (latent 64x64): SD 1.4 on a record-only context (bench/unet_counts.ts: the real
// device, a queue that never runs), so the pool's peak is the schedule's, with nothing executed.
// Peak = the most pooled (activation) bytes live at once above what was live before; weights are
// the resident column. With --latent 64 the 512² rows are executed (and the record-only ones are
// skipped): on lavapipe use --reps 1 --warmup 0, one timed run each, pipeline compiles included.
// Usage: npx tsx bench/gradients.ts [--latent 16] [--reps 3] [--warmup 1] [--no-sd]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createNodeGpuContext } from '../src/gpu/device_node.js';
import { adapterName } from '../src/gpu/device.js';
import type { GpuContext } from '../src/gpu/context.js';
import type { DType } from '../src/gpu/tensor.js';
import { setAutoTune } from '../src/kernels/select_variant.js';
import { UNet2DConditionModel } from '../src/unet/unet_2d_condition.js';
import { Rng } from '../src/util/rng.js';
import { loadComponentWeights } from '../src/weights/model_source.js';
import { nodeModelFiles } from '../src/weights/model_source_node.js';
import { sd14SyntheticUNetWeights, sd14UNetConfigJson } from '../test/modules/unet_synthetic.js';
import { recordOnlyContext } from './unet_counts.js';

const arg = (k: string, d: number) => { const i = process.argv.indexOf(`--${k}`); return i > 0 ? Number(process.argv[i + 1]) : d; };
const LATENT = arg('latent', 16), REPS = arg('reps', 3), WARMUP = arg('warmup', 1);
const MiB = (b: number) => (b / 2 ** 20).toFixed(1);

interface Row { model: string; dtype: DType; latent: number; fwd1: Cost; fwd2: Cost; vjp: Cost; residentMiB: number; timed: boolean }
interface Cost { ms: number; peak: number }

async function measure(ctx: GpuContext, unet: UNet2DConditionModel, h: number, timed: boolean): Promise<{ fwd1: Cost; fwd2: Cost; vjp: Cost }> {
  const cfg = unet.config, rng = new Rng(5);
  const up = (B: number) => ({
    x: ctx.upload(rng.normals(B * cfg.in_channels * h * h), [B, cfg.in_channels, h, h]),
    c: ctx.upload(rng.normals(B * 77 * cfg.cross_attention_dim), [B, 77, cfg.cross_attention_dim]),
  });
  const run = async (fn: () => ReturnType<GpuContext['alloc']>): Promise<Cost> => {
    const times: number[] = [];
    let peak = 0;
    for (let r = 0; r < (timed ? REPS + WARMUP : 1); r++) {
      const base = ctx.pool.inUse;
      ctx.pool.resetPeak();
      const t0 = performance.now();
      const y = fn();
      if (timed) await ctx.read(y);
      times.push(performance.now() - t0);
      if (timed) console.error(`  run ${r + 1}: ${times[r]!.toFixed(0)} ms`);
      peak = Math.max(peak, ctx.pool.peak - base);
      ctx.release(y);
    }
    const warm = times.slice(timed ? WARMUP : 0).sort((a, b) => a - b);  // the first WARMUP runs compile pipelines
    return { ms: timed ? warm[Math.floor(warm.length / 2)]! : NaN, peak };
  };
  const one = up(1), two = up(2);
  const u = ctx.upload(rng.normals(one.x.size), one.x.shape);
  const fwd1 = await run(() => unet.forward(ctx, one.x, [500], one.c));
  const fwd2 = await run(() => unet.forward(ctx, two.x, [500, 500], two.c));
  const vjp = await run(() => unet.vjp(ctx, one.x, [500], one.c, u));
  ctx.release(one.x, one.c, two.x, two.c, u);
  return { fwd1, fwd2, vjp };
}

async function embedded(ctx: GpuContext, dtype: DType): Promise<UNet2DConditionModel> {
  const root = join(import.meta.dirname, '..', 'weights', 'fmnist');
  const w = await loadComponentWeights(nodeModelFiles(root), 'unet');
  const unet = await UNet2DConditionModel.load(ctx, w, readFileSync(join(root, 'unet', 'config.json'), 'utf8'), { weightDtype: dtype });
  await w.close();
  return unet;
}

async function sd14(ctx: GpuContext, dtype: DType): Promise<UNet2DConditionModel> {
  const w = await sd14SyntheticUNetWeights(dtype === 'f16' ? 'F16' : 'F32');
  const unet = await UNet2DConditionModel.load(ctx, w, sd14UNetConfigJson(), { weightDtype: dtype });
  await w.close();
  return unet;
}

async function rowOf(ctx: GpuContext, model: string, dtype: DType, load: typeof sd14, h: number, timed: boolean): Promise<Row> {
  const r0 = ctx.residentBytes;
  const unet = await load(ctx, dtype);
  const residentMiB = (ctx.residentBytes - r0) / 2 ** 20;
  const m = await measure(ctx, unet, h, timed);
  unet.destroy(ctx);
  ctx.pool.trim();
  console.log(`${model} ${dtype} ${h}x${h}: fwd ${m.fwd1.ms.toFixed(0)} ms / ${MiB(m.fwd1.peak)} MiB, fwd b2 ${m.fwd2.ms.toFixed(0)} ms / ${MiB(m.fwd2.peak)} MiB, vjp ${m.vjp.ms.toFixed(0)} ms / ${MiB(m.vjp.peak)} MiB`);
  return { model, dtype, latent: h, ...m, residentMiB, timed };
}

function table(rows: Row[]): string {
  const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(0) : '—');
  const out = ['| model | weights | latent | measured | newton/exact ms (2 fwd) | newton/fused ms (1 fwd b2) | dps ms (vjp + fwd) | vjp / fwd | peak MiB newton/exact | peak MiB newton/fused | peak MiB dps | dps / exact | weights MiB |',
    '|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|'];
  for (const r of rows) {
    const dpsPeak = Math.max(r.vjp.peak, r.fwd1.peak);
    out.push(`| ${r.model} | ${r.dtype} | ${r.latent}x${r.latent} | ${r.timed ? 'executed' : 'record-only (memory)'} | ${ms(2 * r.fwd1.ms)} | ${ms(r.fwd2.ms)} | ` +
      `${ms(r.vjp.ms + r.fwd1.ms)} | ${r.timed ? (r.vjp.ms / r.fwd1.ms).toFixed(2) : '—'} | ${MiB(r.fwd1.peak)} | ${MiB(r.fwd2.peak)} | ${MiB(dpsPeak)} | ` +
      `${(dpsPeak / r.fwd1.peak).toFixed(2)} | ${r.residentMiB.toFixed(0)} |`);
  }
  return out.join('\n');
}

async function main() {
  setAutoTune(false);
  const ctx = await createNodeGpuContext();
  const rows: Row[] = [];
  const dtypes: DType[] = ctx.hasF16 ? ['f32', 'f16'] : ['f32'];
  for (const dt of dtypes) rows.push(await rowOf(ctx, 'embedded (weights/fmnist)', dt, embedded, 8, true));
  if (!process.argv.includes('--no-sd')) {
    for (const dt of dtypes) rows.push(await rowOf(ctx, 'SD 1.4 topology (synthetic)', dt, sd14, LATENT, true));
    if (LATENT < 64) {  // executed at 64 already measures the 512² memory
      const rec = await recordOnlyContext();
      for (const dt of dtypes) rows.push(await rowOf(rec, 'SD 1.4 topology (synthetic)', dt, sd14, 64, false));
    }
  }
  console.log(`\nAdapter: ${adapterName(ctx.adapter)}; ${new Date().toISOString().slice(0, 10)}; median of ${REPS} after ${WARMUP} warm-up run(s); batch 1, provisional kernel variants\n`);
  console.log(table(rows));
  process.exit(0);
}

main().catch((e) => { console.error(e); process.exit(1); });
