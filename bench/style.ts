// Style benchmark (issue 7): the cost of style guidance.
//   npx tsx bench/style.ts [--model PATH] [--clip PATH] [--steps 10] [--K 5] [--reps 3] [--skip-tasks]
// 1. The CLIP part alone (what one style direction adds to the VAE decode + encoder pull-back):
//    forward-only Gram and loss + gradient, for the tiny golden tower and for a ViT-B/16-sized
//    tower with random weights (224 px, 3 of 12 layers: exactly what openai/clip-vit-base-patch16
//    costs; timing does not depend on the weights' values), from a 512 x 512 image.
// 2. Time per image of style guidance beside inpainting, on the SD model (`--model`, default the
//    embedded one), with the style CLIP `--clip` (default: the goldens' tiny tower).
// Writes bench/results/style.json and the "Style" section of bench/RESULTS.md.
// bench/sampler.ts can add style rows with styleRequest() and time the CLIP part with timeClipStyle().
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { ClipVisionModel } from '../src/clip_vision/clip_vision_model.js';
import { CLIP_VIT_B16 } from '../src/clip_vision/config.js';
import { loadClipVisionFromPath } from '../src/clip_vision/load_node.js';
import { ClipStyleLoss } from '../src/clip_vision/style_loss.js';
import { clipVisionWeights } from '../src/clip_vision/weights.js';
import { adapterName } from '../src/gpu/device.js';
import { createNodeGpuContext } from '../src/gpu/device_node.js';
import type { GpuContext } from '../src/gpu/context.js';
import type { GpuTensor } from '../src/gpu/tensor.js';
import { variantsSettled } from '../src/kernels/select_variant.js';
import { SdPipeline, type PipelineRequest } from '../src/pipeline/sd_pipeline.js';
import type { ImageData4 } from '../src/pipeline/tasks.js';
import type { Schedule } from '../src/sampler/constrained_sampler.js';
import { Rng } from '../src/util/rng.js';
import { vitB16SyntheticClip } from '../test/style/clip_synthetic.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Median and minimum ms of `reps` runs after a warm-up (the minimum is the better estimate on a shared, loaded machine). */
export interface Timing { median: number; min: number }

export async function timeIt(ctx: GpuContext, fn: () => Promise<void> | void, reps: number): Promise<Timing> {
  await fn(); await ctx.sync();                    // warm-up: shader compilation, pool growth,
  await variantsSettled(ctx); await ctx.sync();       // and the matmul variant measurements it started
  const ms: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    await fn(); await ctx.sync();
    ms.push(performance.now() - t0);
  }
  return { median: median(ms), min: Math.min(...ms) };
}

/** The ViT-B/16-sized tower with random weights under the real key names (test/style/clip_synthetic.ts). */
export async function randomClipVision(ctx: GpuContext, numLayers: number): Promise<ClipVisionModel> {
  const { file } = await vitB16SyntheticClip(numLayers);
  return ClipVisionModel.load(ctx, clipVisionWeights([file], numLayers), CLIP_VIT_B16, numLayers, { weightDtype: 'f32' });
}

export interface ClipStyleTiming { forward: Timing; lossAndGrad: Timing }

/** Median ms of G(img) alone and of L + dL/dimg, for an [1, 3, size, size] image. */
export async function timeClipStyle(ctx: GpuContext, loss: ClipStyleLoss, size: number, reps = 3): Promise<ClipStyleTiming> {
  const rng = new Rng(3);
  const img = ctx.upload(rng.uniforms(3 * size * size, -1, 1), [1, 3, size, size]);
  const gRef = loss.gram(ctx, ctx.upload(rng.uniforms(3 * size * size, -1, 1), [1, 3, size, size]));
  const forward = await timeIt(ctx, () => { ctx.release(loss.gram(ctx, img)); }, reps);
  const lossAndGrad = await timeIt(ctx, () => { const r = loss.lossAndGrad(ctx, img, gRef); ctx.release(r.loss, r.grad); }, reps);
  ctx.release(img, gRef);
  return { forward, lossAndGrad };
}

/**
 * Style guidance at the task table's settings (the paper's: K = 5, lr 0.5 -> 0.1, a prompt with
 * CFG w = 2) as a PipelineRequest: 'style' alone, or 'inpaint' with a style reference.
 */
export function styleRequest(loss: ClipStyleLoss, styleImage: ImageData4, size: number, opts: {
  steps: number; K?: number; schedule?: Schedule; prompt?: string; cfg?: boolean; seed?: number;
  inpaint?: { image: ImageData4; mask: ImageData4 };
}): PipelineRequest {
  return {
    task: opts.inpaint ? 'inpaint' : 'style', ...(opts.inpaint ? { image: opts.inpaint.image, mask: opts.inpaint.mask } : { width: size, height: size }),
    prompt: opts.prompt ?? 'a photo', ...(opts.cfg === false ? { guidance: 1 } : { guidance: 3 }), seed: opts.seed ?? 1,
    steps: opts.steps, K: opts.K, schedule: opts.schedule, styleImage, styleLoss: loss,
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string, d: string) => { const i = args.indexOf(`--${name}`); return i >= 0 && args[i + 1] ? args[i + 1]! : d; };
  const MODEL = opt('model', existsSync('weights/fmnist/unet/config.json') ? 'weights/fmnist' : '../shared/golden');
  const CLIP = opt('clip', '../shared/golden/goldens_style/clip_vision');
  const STEPS = Number(opt('steps', '10')), K = Number(opt('K', '5')), REPS = Number(opt('reps', '3'));
  const { mdTable, writeJson, writeResultsSection } = await import('./results_md.js');
  const ctx = await createNodeGpuContext();
  const adapter = adapterName(ctx.adapter);
  console.log(`adapter: ${adapter}`);

  // 1. the CLIP part
  const tiny = new ClipStyleLoss(await loadClipVisionFromPath(ctx, CLIP));
  const tinyT = await timeClipStyle(ctx, tiny, 512, REPS);
  const fmt = (t: Timing, digits = 0) => `${t.median.toFixed(digits)} ms (min ${t.min.toFixed(digits)})`;
  const load0 = loadavg()[0]!;
  console.log(`CLIP ${CLIP} (${tiny.model.config.imageSize} px): G ${fmt(tinyT.forward, 1)}, L + dL/dimg ${fmt(tinyT.lossAndGrad, 1)}`);
  const b16 = new ClipStyleLoss(await randomClipVision(ctx, 3));
  const b16T = await timeClipStyle(ctx, b16, 512, REPS);
  console.log(`ViT-B/16 size, 3 layers (224 px): G ${fmt(b16T.forward)}, L + dL/dimg ${fmt(b16T.lossAndGrad)}`);
  b16.model.destroy(ctx); b16.destroy(ctx);

  // 2. per image, beside inpainting
  const rows: { run: string; perImage: Timing; evals: number }[] = [];
  let size = 0;
  if (!args.includes('--skip-tasks')) {
    const { nodeModelSource } = await import('../src/pipeline/load_pipeline_node.js');
    const pipe = await SdPipeline.open(await nodeModelSource(MODEL), { ctx });
    size = pipe.nativeSize;
    const rng = new Rng(7);
    const image: ImageData4 = { data: rng.uniforms(3 * size * size, -1, 1), shape: [1, 3, size, size] };
    const styleImage: ImageData4 = { data: rng.uniforms(3 * size * size, -1, 1), shape: [1, 3, size, size] };
    const mask: ImageData4 = { data: new Float32Array(size * size).map((_, i) => (i % size < size / 2 ? 1 : 0)), shape: [1, 1, size, size] };
    const runs: [string, PipelineRequest][] = [
      ['inpaint (newton exact, no CFG)', { task: 'inpaint', image, mask, seed: 1, steps: STEPS, K }],
      ['style (newton exact, CFG w = 2)', styleRequest(tiny, styleImage, size, { steps: STEPS, K })],
      ['style (newton exact, no CFG)', styleRequest(tiny, styleImage, size, { steps: STEPS, K, cfg: false })],
      ['inpaint + style (newton exact, no CFG)', styleRequest(tiny, styleImage, size, { steps: STEPS, K, cfg: false, inpaint: { image, mask } })],
    ];
    for (const [name, req] of runs) {
      let evals = 0;
      const t = await timeIt(ctx, async () => { evals = (await pipe.run(req)).evals; }, REPS);
      rows.push({ run: name, perImage: t, evals });
      console.log(`${name}: ${(t.median / 1000).toFixed(2)} s/image (min ${(t.min / 1000).toFixed(2)}), ${evals} UNet evals`);
    }
    pipe.destroy();
  }

  const load = [load0, loadavg()[0]!];
  writeJson('bench/results/style.json', { adapter: { ...ctx.adapter }, clip: CLIP, model: MODEL, steps: STEPS, K, cpus: cpus().length, loadavg: load, tiny: tinyT, vitB16: b16T, rows });
  const body = [
    `Adapter: **${adapter}**. Command: \`npx tsx bench/style.ts\`. Median of ${REPS} after a warm-up (minimum in brackets); ` +
      `${cpus().length} CPU cores, load average ${load[0]!.toFixed(1)} at the start and ${load[1]!.toFixed(1)} at the end ` +
      '(a shared machine: software-adapter timings move with the load).',
    '',
    'CLIP part of one style direction (from a 512x512 image; the VAE decode and the two encoder passes of the pull-back come on top):',
    '',
    mdTable(['CLIP vision tower', 'G only (forward)', 'L + dL/dimg (forward + backward)'], [
      [`goldens tiny (${tiny.model.config.imageSize} px, width ${tiny.width})`, fmt(tinyT.forward, 1), fmt(tinyT.lossAndGrad, 1)],
      ['ViT-B/16 size, 3 of 12 layers (224 px, width 768; random weights)', fmt(b16T.forward), fmt(b16T.lossAndGrad)],
    ]),
  ];
  if (rows.length) {
    body.push('', `Per image: model \`${MODEL}\` (${size}x${size} px), style CLIP \`${CLIP}\`, ${STEPS} steps, K = ${K}, lr 0.5 -> 0.1.`, '',
      mdTable(['run', 's / image (min)', 'UNet evals / image'],
        rows.map((r) => [r.run, `${(r.perImage.median / 1000).toFixed(2)} (${(r.perImage.min / 1000).toFixed(2)})`, r.evals])));
  }
  writeResultsSection('Style', body.join('\n'));
  console.log('wrote bench/results/style.json and the Style section of bench/RESULTS.md');
  tiny.model.destroy(ctx); tiny.destroy(ctx);
  process.exit(0);
}

if (process.argv[1]?.endsWith('style.ts')) main().catch((e) => { console.error(e); process.exit(1); });
