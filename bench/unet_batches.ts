// The embedded UNet (weights/fmnist, latent 8x8) at the quality bench's batch sizes: ms per
// forward and per sample (median of --reps after a warm-up and variant settling) and the GPU
// time per kernel of one forward (timestamp queries, where the adapter has them).
//   npx tsx bench/unet_batches.ts [--batches 1,2,8,20,50] [--reps 5] [--model weights/fmnist]
// Prints a markdown table; record `uptime` beside it (CPU adapters share the machine's cores).
import { adapterName } from '../src/gpu/device.js';
import { createNodeGpuContext } from '../src/gpu/device_node.js';
import { settleVariants } from '../src/kernels/select_variant.js';
import { nodeModelSource } from '../src/pipeline/load_pipeline_node.js';
import { SdPipeline } from '../src/pipeline/sd_pipeline.js';
import { Rng } from '../src/util/rng.js';

const args = process.argv.slice(2);
const opt = (name: string, d: string) => { const i = args.indexOf(`--${name}`); return i >= 0 && args[i + 1] ? args[i + 1]! : d; };
const batches = opt('batches', '1,2,8,20,50').split(',').map(Number);
const REPS = Number(opt('reps', '5'));

const ctx = await createNodeGpuContext();
const pipe = await SdPipeline.open(await nodeModelSource(opt('model', 'weights/fmnist')), { ctx });
const unet = pipe.model.unet!;
const cfg = unet.config;
const [lh, lw] = [8, 8];
console.log(`adapter: ${adapterName(ctx.adapter)}; median of ${REPS}`);
console.log('| batch | ms/forward | ms/sample | GPU ms by kernel (one forward) |\n|---:|---:|---:|---|');
for (const B of batches) {
  const x = ctx.upload(new Rng(1).normals(B * cfg.in_channels * lh * lw), [B, cfg.in_channels, lh, lw]);
  const e = ctx.upload(new Rng(2).normals(B * 77 * cfg.cross_attention_dim), [B, 77, cfg.cross_attention_dim]);
  const ts = Array.from({ length: B }, (_, i) => 981 - 10 * i);
  const once = async () => { const y = unet.forward(ctx, x, ts, e); await ctx.sync(); ctx.release(y); };
  await once();
  await settleVariants(ctx);
  await once();
  const t: number[] = [];
  for (let r = 0; r < REPS; r++) { const t0 = performance.now(); await once(); t.push(performance.now() - t0); }
  t.sort((a, b) => a - b);
  const med = t[t.length >> 1]!;
  let gpu = '';
  if (ctx.hasTimestamps) {
    ctx.startTiming();
    ctx.release(unet.forward(ctx, x, ts, e));
    const byK = new Map<string, number>();
    for (const d of await ctx.stopTiming()) byK.set(d.kernel, (byK.get(d.kernel) ?? 0) + d.ms);
    gpu = [...byK].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ');
  }
  console.log(`| ${B} | ${med.toFixed(1)} | ${(med / B).toFixed(1)} | ${gpu} |`);
  ctx.release(x, e);
}
process.exit(0);
