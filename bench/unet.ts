// UNet forward benchmark: wall time per forward at batch 1, 2, 4 (the sampler's finite-difference
// and CFG batches), per-module GPU time labelled with weight prefixes (timestamp queries, grouped
// by ctx.within scopes), peak GPU memory (pool peak + resident weights), and the adapter.
// Tiny golden UNet always; the full-size SD 1.4 UNet (synthetic weights, 16x16 latent) with --full.
// Dispatch and intermediate-bytes counts per forward (bench/unet_counts.ts): every benched model,
// the embedded model, and SD 1.4 at 512x512 (latent 64x64) on a record-only context (--no-counts: skip those).
//   npm run bench:unet [-- --full] [--reps N] [--latent 16] [--batches 1,2,4] [--no-counts]
// Writes bench/results/unet.json and the "UNet" section of bench/RESULTS.md.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createNodeGpuContext } from '../src/gpu/device_node.js';
import { adapterName } from '../src/gpu/device.js';
import type { GpuContext } from '../src/gpu/context.js';
import type { TimedDispatch } from '../src/gpu/timing.js';
import { setAutoTune, variantsSettled } from '../src/kernels/select_variant.js';
import { UNet2DConditionModel } from '../src/unet/unet_2d_condition.js';
import { Rng } from '../src/util/rng.js';
import { goldenUNetConfig, goldenUNetWeights } from '../test/modules/unet_helpers.js';
import { GOLDEN_ROOT, sd14SyntheticUNetWeights, sd14UNetConfigJson } from '../test/modules/unet_synthetic.js';
import { loadComponentWeights } from '../src/weights/model_source.js';
import { nodeModelFiles } from '../src/weights/model_source_node.js';
import { countForward, countsTable, recordOnlyContext, type ForwardCounts } from './unet_counts.js';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const opt = (name: string, d: string) => { const i = args.indexOf(`--${name}`); return i >= 0 && args[i + 1] ? args[i + 1]! : d; };
const REPS = Number(opt('reps', '5'));
const BATCHES = opt('batches', '1,2,4').split(',').map(Number);
const LATENT = Number(opt('latent', '16'));

interface BatchResult {
  batch: number; msPerForward: number; msMin: number; relToBatch1: number; msPerSample: number;
  gpuMs: number | null; peakPoolMiB: number; residentMiB: number; peakTotalMiB: number;
}
interface ModelResult {
  model: string; weightDtype: string; latent: [number, number]; batches: BatchResult[];
  /** GPU ms per forward at batch 2 by top-level block and by deepest module label */
  modules: { blocks: Record<string, number>; top: { label: string; ms: number; kernel: string }[] } | null;
  loadSeconds: number;
  /** one forward's dispatches and bytes written to pooled buffers, per batch (tuned variants) */
  counts: ForwardCounts[];
}

const mib = (b: number) => b / 2 ** 20;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function randn(n: number, seed: number): Float32Array {
  return new Rng(seed).normals(n);
}

async function benchModel(ctx: GpuContext, name: string, unet: UNet2DConditionModel, loadSeconds: number,
                          h: number, w: number): Promise<ModelResult> {
  const cfg = unet.config;
  const out: BatchResult[] = [];
  let modules: ModelResult['modules'] = null;
  for (const B of BATCHES) {
    const x = ctx.upload(randn(B * cfg.in_channels * h * w, 1), [B, cfg.in_channels, h, w]);
    const e = ctx.upload(randn(B * 77 * cfg.cross_attention_dim, 2), [B, 77, cfg.cross_attention_dim]);
    const ts = Array.from({ length: B }, (_, i) => 981 - 40 * i);
    const once = async () => { const y = unet.forward(ctx, x, ts, e); await ctx.sync(); ctx.release(y); };
    // warm-up: pipelines compiled, pool filled, and the kernel variants of every new shape class
    // measured (in the background) before anything is timed; then one more run on the final choices
    await once();
    await variantsSettled(ctx);
    await once();
    ctx.pool.resetPeak();
    const times: number[] = [];
    for (let r = 0; r < REPS; r++) {
      const t0 = performance.now();
      await once();
      times.push(performance.now() - t0);
    }
    let gpuMs: number | null = null;
    if (ctx.hasTimestamps) {
      ctx.startTiming();
      const y = unet.forward(ctx, x, ts, e);
      ctx.release(y);
      const td = await ctx.stopTiming();
      gpuMs = td.reduce((s, d) => s + d.ms, 0);
      if (B === 2 || (modules === null && B === BATCHES[BATCHES.length - 1])) modules = aggregate(td);
    }
    ctx.release(x, e);
    const ms = median(times);
    out.push({
      batch: B, msPerForward: ms, msMin: Math.min(...times), relToBatch1: 0, msPerSample: ms / B, gpuMs,
      peakPoolMiB: mib(ctx.pool.peak), residentMiB: mib(ctx.residentBytes), peakTotalMiB: mib(ctx.pool.peak + ctx.residentBytes),
    });
  }
  const b1 = out.find((r) => r.batch === 1)?.msPerForward ?? out[0]!.msPerForward;
  for (const r of out) r.relToBatch1 = r.msPerForward / b1;
  const counts: ForwardCounts[] = [];
  for (const B of BATCHES) counts.push(await countForward(ctx, unet, B, h, w));
  return { model: name, weightDtype: unet.weightDtype, latent: [h, w], batches: out, modules, loadSeconds, counts };
}

/** GPU time by top-level block (`down_blocks.1`, `mid_block`, ...) and by full module label. */
function aggregate(td: TimedDispatch[]): NonNullable<ModelResult['modules']> {
  const blocks: Record<string, number> = {};
  const byLabel = new Map<string, { ms: number; kernels: Map<string, number> }>();
  for (const d of td) {
    const parts = d.label.split('.');
    const top = /^(down_blocks|up_blocks)$/.test(parts[0]!) ? parts.slice(0, 2).join('.') : parts[0]!;
    blocks[top] = (blocks[top] ?? 0) + d.ms;
    const e = byLabel.get(d.label) ?? { ms: 0, kernels: new Map() };
    e.ms += d.ms;
    e.kernels.set(d.kernel, (e.kernels.get(d.kernel) ?? 0) + d.ms);
    byLabel.set(d.label, e);
  }
  const top = [...byLabel].sort((a, b) => b[1].ms - a[1].ms).slice(0, 15)
    .map(([label, e]) => ({ label, ms: e.ms, kernel: [...e.kernels].sort((a, b) => b[1] - a[1]).map(([k]) => k).join('+') }));
  return { blocks, top };
}

function table(r: ModelResult): string {
  const lines = [
    `### ${r.model} (weights ${r.weightDtype}, latent ${r.latent.join('x')}, load ${r.loadSeconds.toFixed(1)} s)`, '',
    '| batch | ms / forward (median) | min | x batch 1 | ms / sample | GPU ms (timestamps) | peak pool MiB | resident MiB | peak total MiB |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...r.batches.map((b) => `| ${b.batch} | ${b.msPerForward.toFixed(1)} | ${b.msMin.toFixed(1)} | ${b.relToBatch1.toFixed(2)} | ` +
      `${b.msPerSample.toFixed(1)} | ${b.gpuMs?.toFixed(1) ?? 'n/a'} | ${b.peakPoolMiB.toFixed(1)} | ${b.residentMiB.toFixed(1)} | ${b.peakTotalMiB.toFixed(1)} |`),
  ];
  if (r.modules) {
    const total = Object.values(r.modules.blocks).reduce((a, b) => a + b, 0);
    lines.push('', `GPU time by block (one forward at batch ${r.batches.some((b) => b.batch === 2) ? 2 : r.batches[r.batches.length - 1]!.batch}; timing gives each dispatch its own pass):`, '',
      '| block | GPU ms | share |', '|---|---:|---:|',
      ...Object.entries(r.modules.blocks).map(([k, v]) => `| ${k} | ${v.toFixed(2)} | ${((100 * v) / total).toFixed(1)}% |`),
      '', 'Most expensive modules:', '', '| module | GPU ms | kernels |', '|---|---:|---|',
      ...r.modules.top.map((m) => `| ${m.label} | ${m.ms.toFixed(2)} | ${m.kernel} |`));
  }
  return lines.join('\n');
}

function writeResultsSection(body: string): void {
  const path = 'bench/RESULTS.md';
  const section = `## UNet\n\n${body.trim()}\n`;
  let text = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmark results\n';
  const start = text.search(/^## UNet\s*$/m);
  if (start >= 0) {
    const rest = text.slice(start + 1);
    const next = rest.search(/^## /m);
    text = text.slice(0, start) + section + (next >= 0 ? `\n${rest.slice(next)}` : '');
  } else {
    text = `${text.trimEnd()}\n\n${section}`;
  }
  writeFileSync(path, text);
}

const COUNTS_HEAD = '### Dispatches and bytes written per forward\n\n' +
  'Counted by the context (src/gpu/dispatch_counts.ts): dispatches recorded, copies, and bytes of pooled (activation) ' +
  'tensors bound read_write, whole bindings (an upper bound), plus bytes copied. "record-only": the real context and ' +
  'device with a queue that never runs (bench/unet_counts.ts), variants pinned to the provisional choice; SD 1.4 at ' +
  '512x512 is counted that way because executing it here takes minutes per forward.';

/** models whose top kernels are listed: the two the fusions are judged on */
const COUNTS_TOP = ['embedded UNet (f32)', 'SD 1.4 UNet (f32)'];

/** The embedded model (real run) and the record-only counts: tiny (to compare with the tuned run) and SD 1.4 at 16x16 and 64x64. */
async function extraCounts(ctx: GpuContext, results: ModelResult[]): Promise<{ model: string; note: string; c: ForwardCounts }[]> {
  const rows: { model: string; note: string; c: ForwardCounts }[] = [];
  for (const r of results) for (const c of r.counts) rows.push({ model: `${r.model} (${r.weightDtype})`, note: 'run, tuned variants', c });
  const fm = await loadComponentWeights(nodeModelFiles('weights/fmnist'), 'unet');
  const emb = await UNet2DConditionModel.load(ctx, fm, readFileSync('weights/fmnist/unet/config.json', 'utf8'), { weightDtype: 'f32' });
  await fm.close();
  await countForward(ctx, emb, 1, 8, 8); // warm-up: the variants of its shapes are measured before counting
  await variantsSettled(ctx);
  for (const B of [1, 2]) rows.push({ model: 'embedded UNet (f32)', note: 'run, tuned variants', c: await countForward(ctx, emb, B, 8, 8) });
  emb.destroy(ctx);
  setAutoTune(false); // the record-only context can measure nothing
  const rec = await recordOnlyContext();
  if (existsSync(join(GOLDEN_ROOT, 'unet', 'config.json'))) {
    const w = await goldenUNetWeights('folder');
    const tiny = await UNet2DConditionModel.load(rec, w, goldenUNetConfig(), { weightDtype: 'f32' });
    await w.close();
    for (const B of [1, 2]) rows.push({ model: 'tiny golden UNet (f32)', note: 'record-only', c: await countForward(rec, tiny, B, LATENT, LATENT) });
  }
  const w = await sd14SyntheticUNetWeights('F32');
  const sd = await UNet2DConditionModel.load(rec, w, sd14UNetConfigJson(), { weightDtype: 'f32' });
  await w.close();
  for (const L of [16, 64]) for (const B of [1, 2]) rows.push({ model: 'SD 1.4 UNet (f32)', note: 'record-only', c: await countForward(rec, sd, B, L, L) });
  console.log(`\n${COUNTS_HEAD}\n\n${countsTable(rows, COUNTS_TOP)}`);
  return rows;
}

async function main(): Promise<void> {
  const ctx = await createNodeGpuContext();
  const adapter = adapterName(ctx.adapter);
  console.log(`adapter: ${adapter}; shader-f16 ${ctx.hasF16}, timestamps ${ctx.hasTimestamps}; reps ${REPS}`);
  const results: ModelResult[] = [];

  // the tiny UNet's weights are the goldens' (../shared/golden, or TETHER_GOLDEN); a lent GPU
  // machine has no shared/ (tools/gpu_bench.sh), so there only the full-size model runs
  const tiny = existsSync(join(GOLDEN_ROOT, 'unet', 'config.json'));
  if (!tiny) console.log(`tiny golden UNet skipped: no ${GOLDEN_ROOT}/unet (set TETHER_GOLDEN)`);
  for (const dt of !tiny ? [] : ctx.hasF16 ? (['f32', 'f16'] as const) : (['f32'] as const)) {
    const t0 = performance.now();
    const w = await goldenUNetWeights('folder');
    const unet = await UNet2DConditionModel.load(ctx, w, goldenUNetConfig(), { weightDtype: dt });
    await w.close();
    const r = await benchModel(ctx, 'tiny golden UNet', unet, (performance.now() - t0) / 1e3, LATENT, LATENT);
    results.push(r);
    console.log(`\n${table(r)}`);
    unet.destroy(ctx);
    ctx.pool.trim();
  }

  if (flag('full')) {
    const t0 = performance.now();
    const w = await sd14SyntheticUNetWeights(ctx.hasF16 ? 'F16' : 'F32');
    const unet = await UNet2DConditionModel.load(ctx, w, sd14UNetConfigJson());
    const r = await benchModel(ctx, 'SD 1.4 UNet (synthetic weights)', unet, (performance.now() - t0) / 1e3, LATENT, LATENT);
    results.push(r);
    console.log(`\n${table(r)}`);
    unet.destroy(ctx);
    await w.close();
  }

  const countRows = flag('no-counts') ? [] : await extraCounts(ctx, results);
  const meta = { adapter, shaderF16: ctx.hasF16, timestamps: ctx.hasTimestamps, reps: REPS, date: new Date().toISOString(), node: process.version };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/unet.json', `${JSON.stringify({ ...meta, results, counts: countRows }, null, 1)}\n`);
  const note = (flag('full') ? '' : '\nFull-size SD 1.4 not run (pass --full).\n') + (tiny ? '' : '\nTiny golden UNet not run (no ../shared/golden here).\n');
  writeResultsSection(`Adapter: ${adapter} (shader-f16 ${ctx.hasF16}, timestamp-query ${ctx.hasTimestamps}); ` +
    `${meta.date.slice(0, 10)}, median of ${REPS} forwards after warm-up and kernel-variant tuning; \`npm run bench:unet${flag('full') ? ' -- --full' : ''}\`.\n` +
    `Timesteps differ per sample; batch-N cost relative to batch 1 is the "x batch 1" column.\n${note}\n` +
    results.map(table).join('\n\n') + (countRows.length ? `\n\n${COUNTS_HEAD}\n\n${countsTable(countRows, COUNTS_TOP)}` : ''));
  console.log('\nwrote bench/results/unet.json and the UNet section of bench/RESULTS.md');
  process.exit(0);
}

main().catch((e) => { console.error(e); process.exit(1); });
