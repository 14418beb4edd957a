// Host-side cost of one embedded-UNet forward (issue 14): the JavaScript that records its
// dispatches, the wait for the result, and how busy the main thread is during that wait (Linux:
// /proc/self/task/<pid>/stat, the main thread only — a CPU adapter's worker threads are in the
// same process). On a software adapter every millisecond the main thread spends polling is taken
// from the "GPU" (gpu_wait_node.ts); the recording cost is what bind-group reuse cut
// (bind_group_cache.ts). Run it in two trees to compare; record `uptime` beside it.
//   npx tsx bench/host_overhead.ts [--reps 40] [--batch 1] [--model weights/fmnist] [--submit-every 0,16]
// --submit-every: dispatches per submit (0: only at the readback), default the context's
// SUBMIT_EVERY; several values are interleaved in rounds of 8 forwards in this one process (a
// row each), so load on the shared cores hits them alike.
import { existsSync, readFileSync } from 'node:fs';
import { adapterName } from '../src/gpu/device.js';
import { createNodeGpuContext } from '../src/gpu/device_node.js';
import { settleVariants } from '../src/kernels/select_variant.js';
import { nodeModelSource } from '../src/pipeline/load_pipeline_node.js';
import { SdPipeline } from '../src/pipeline/sd_pipeline.js';
import { Rng } from '../src/util/rng.js';

const args = process.argv.slice(2);
const opt = (name: string, d: string) => { const i = args.indexOf(`--${name}`); return i >= 0 && args[i + 1] ? args[i + 1]! : d; };
const REPS = Number(opt('reps', '40')), B = Number(opt('batch', '1'));

const stat = `/proc/self/task/${process.pid}/stat`;
/** CPU ms the main thread has used (Linux), else NaN */
const mainCpuMs = () => {
  if (!existsSync(stat)) return NaN;
  const f = readFileSync(stat, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;   // utime + stime, in clock ticks of 10 ms
};
const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;

const ctx = await createNodeGpuContext();
const chunks = opt('submit-every', String(ctx.submitEvery)).split(',').map((v) => Number(v) || Infinity);
const pipe = await SdPipeline.open(await nodeModelSource(opt('model', 'weights/fmnist')), { ctx });
const unet = pipe.model.unet!, cfg = unet.config;
const x = ctx.upload(new Rng(1).normals(B * cfg.in_channels * 64), [B, cfg.in_channels, 8, 8]);
const e = ctx.upload(new Rng(2).normals(B * 77 * cfg.cross_attention_dim), [B, 77, cfg.cross_attention_dim]);
const ts = Array.from({ length: B }, () => 500);
const forward = async () => {
  const t0 = performance.now();
  const y = unet.forward(ctx, x, ts, e);
  ctx.flush();
  const t1 = performance.now(), c0 = mainCpuMs();
  await ctx.read(y);
  const t2 = performance.now();
  ctx.release(y);
  return { record: t1 - t0, wait: t2 - t1, total: t2 - t0, waitCpu: mainCpuMs() - c0 };
};
for (let i = 0; i < 3; i++) await forward();
await settleVariants(ctx);
for (let i = 0; i < 3; i++) await forward();
const bg = (ctx as { bindGroups?: { hits: number; misses: number } }).bindGroups;
interface Run { record: number; wait: number; total: number; waitCpu: number }
const runs = new Map<number, { runs: Run[]; hits: number; made: number }>(chunks.map((c) => [c, { runs: [], hits: 0, made: 0 }]));
const ROUND = chunks.length > 1 ? 8 : REPS;
for (let done = 0; done < REPS; done += ROUND) {
  for (const c of chunks) {
    ctx.submitEvery = c;
    const r = runs.get(c)!, [h0, m0] = [bg?.hits ?? 0, bg?.misses ?? 0];
    for (let i = 0; i < Math.min(ROUND, REPS - done); i++) r.runs.push(await forward());
    r.hits += (bg?.hits ?? 0) - h0; r.made += (bg?.misses ?? 0) - m0;
  }
}
console.log(`adapter: ${adapterName(ctx.adapter)}; embedded UNet, batch ${B}, ${REPS} forwards per row after warm-up`);
console.log('| submit every | record ms (median) | wait ms (median) | total ms (median) | total ms (min) | main-thread CPU during waits | bind groups hit / made |');
console.log('|---:|---:|---:|---:|---:|---:|---|');
for (const [c, { runs: rs, hits, made }] of runs) {
  const waitSum = rs.reduce((s, r) => s + r.wait, 0), cpuSum = rs.reduce((s, r) => s + r.waitCpu, 0);
  console.log(`| ${c === Infinity ? 'readback only' : c} | ${median(rs.map((r) => r.record)).toFixed(1)} | ${median(rs.map((r) => r.wait)).toFixed(1)} | ${median(rs.map((r) => r.total)).toFixed(1)} | ${Math.min(...rs.map((r) => r.total)).toFixed(1)} | ${Number.isNaN(cpuSum) ? '-' : `${(100 * cpuSum / waitSum).toFixed(0)}% (${cpuSum.toFixed(0)} of ${waitSum.toFixed(0)} ms)`} | ${bg ? `${hits} / ${made}` : '- (no cache)'} |`);
}
pipe.destroy();
