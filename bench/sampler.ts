// Sampler benchmark (issue 4): time per image and per diffusion step for each task and schedule,
// UNet evaluations per image, and the cost of one batch-of-two UNet call against two batch-of-one
// calls, all in one run on one adapter.
//   npm run bench:sampler [-- --model PATH] [--steps 10] [--K 5] [--reps 3]
// Writes bench/results/sampler.json and the "Sampler" section of bench/RESULTS.md.
import { existsSync } from 'node:fs';
import { adapterName } from '../src/gpu/device.js';
import { createNodeGpuContext } from '../src/gpu/device_node.js';
import type { GpuContext } from '../src/gpu/context.js';
import type { GpuTensor } from '../src/gpu/tensor.js';
import { concat0 } from '../src/kernels/tensor_ops.js';
import { nodeModelSource } from '../src/pipeline/load_pipeline_node.js';
import { SdPipeline, type PipelineRequest } from '../src/pipeline/sd_pipeline.js';
import type { TaskId } from '../src/pipeline/task_registry.js';
import type { ImageData4 } from '../src/pipeline/tasks.js';
import type { Method, Schedule } from '../src/sampler/constrained_sampler.js';
import { Rng } from '../src/util/rng.js';
import { mdTable, writeJson, writeResultsSection } from './results_md.js';

const args = process.argv.slice(2);
const opt = (name: string, d: string) => { const i = args.indexOf(`--${name}`); return i >= 0 && args[i + 1] ? args[i + 1]! : d; };
const MODEL = opt('model', existsSync('weights/fmnist/unet/config.json') ? 'weights/fmnist' : '../shared/golden');
const STEPS = Number(opt('steps', '10'));
const K = Number(opt('K', '5'));
const REPS = Number(opt('reps', '3'));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timeIt(ctx: GpuContext, fn: () => Promise<void> | void, reps: number): Promise<number> {
  await fn(); await ctx.sync();                    // warm-up: shader compilation, pool growth
  const ms: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    await fn(); await ctx.sync();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

async function main(): Promise<void> {
  const ctx = await createNodeGpuContext();
  const pipe = await SdPipeline.open(await nodeModelSource(MODEL), { ctx });
  const sd = pipe.model, models = pipe.models, dtype = pipe.weightDtype;
  const f = pipe.factor, size = pipe.nativeSize;
  const adapter = adapterName(ctx.adapter);
  console.log(`adapter: ${adapter}; model ${MODEL} (${size}x${size} px, weights ${dtype}); steps ${STEPS}, K ${K}`);

  // 1. UNet: one batch of two against two batches of one
  const c = await models.encodePrompts(ctx, ['']);
  const lat = [1, sd.configs.unet.in_channels, size / f, size / f];
  const x = ctx.upload(new Rng(1).normals(lat.reduce((a, b) => a * b)), lat);
  const x2 = concat0(ctx, [x, x]), c2 = concat0(ctx, [c, c]);
  const run = (xx: GpuTensor, cc: GpuTensor) => { ctx.release(sd.unet!.forward(ctx, xx, Array(xx.shape[0]).fill(500), cc)); };
  const one = await timeIt(ctx, () => run(x, c), REPS * 3);
  const pair = await timeIt(ctx, () => run(x2, c2), REPS * 3);
  const twoSingles = await timeIt(ctx, () => { run(x, c); run(x, c); }, REPS * 3);
  console.log(`UNet: batch 1 ${one.toFixed(1)} ms, batch 2 ${pair.toFixed(1)} ms (${(pair / one).toFixed(2)}x), two batch-1 calls ${twoSingles.toFixed(1)} ms`);

  // 2. tasks x methods x schedules
  const rng = new Rng(7);
  const image: ImageData4 = { data: rng.uniforms(3 * size * size, -1, 1), shape: [1, 3, size, size] };
  const low: ImageData4 = { data: rng.uniforms(3 * (size / 4) ** 2, -1, 1), shape: [1, 3, size / 4, size / 4] };
  const mask: ImageData4 = { data: new Float32Array(size * size).map((_, i) => (i % size < size / 2 ? 1 : 0)), shape: [1, 1, size, size] };
  const runs: { task: TaskId; method: Method; schedule: Schedule; K: number }[] = [
    { task: 'inpaint', method: 'newton', schedule: 'exact', K }, { task: 'inpaint', method: 'newton', schedule: 'fused', K },
    { task: 'inpaint', method: 'no-jacobian', schedule: 'exact', K }, { task: 'inpaint', method: 'replace', schedule: 'exact', K: 0 },
    { task: 'superres', method: 'newton', schedule: 'exact', K }, { task: 'superres', method: 'newton', schedule: 'fused', K },
    { task: 'deblur', method: 'newton', schedule: 'exact', K }, { task: 'generate', method: 'none', schedule: 'exact', K: 0 },
  ];
  const results = [];
  for (const r of runs) {
    // learning rates and the rest: the task table's defaults
    const req: PipelineRequest = {
      task: r.task, seed: 1, steps: STEPS, K: r.K, schedule: r.schedule, method: r.method,
      image: r.task === 'superres' ? low : r.task === 'generate' ? undefined : image, mask: r.task === 'inpaint' ? mask : undefined,
      ...(r.task === 'superres' ? { scale: 4 } : {}), ...(r.task === 'generate' ? { width: size, height: size } : {}),
    };
    let evals = 0;
    const ms = await timeIt(ctx, async () => { evals = (await pipe.run(req)).evals; }, REPS);
    const row = { ...r, msPerImage: ms, msPerStep: ms / STEPS, evalsPerImage: evals, evalsPerSecond: evals / (ms / 1000) };
    results.push(row);
    console.log(`${r.task} ${r.method}/${r.schedule} K=${r.K}: ${(ms / 1000).toFixed(2)} s/image, ${row.msPerStep.toFixed(0)} ms/step, ${evals} UNet evals`);
  }

  const json = { adapter: { ...ctx.adapter }, model: MODEL, weightDtype: dtype, imageSize: size, steps: STEPS, K,
    unet: { batch1Ms: one, batch2Ms: pair, twoBatch1Ms: twoSingles, batch2OverBatch1: pair / one }, results };
  writeJson('bench/results/sampler.json', json);
  const exact = results.find((r) => r.task === 'inpaint' && r.schedule === 'exact' && r.method === 'newton')!;
  const fused = results.find((r) => r.task === 'inpaint' && r.schedule === 'fused')!;
  writeResultsSection('Sampler', [
    `Adapter: **${adapter}**. Model \`${MODEL}\` (${size}x${size} px), weights ${dtype}, ${STEPS} steps, K = ${K}. Command: \`npm run bench:sampler${args.length ? ` -- ${args.join(' ')}` : ''}\`. Median of ${REPS} runs after a warm-up.`,
    '',
    `UNet: batch of two ${pair.toFixed(1)} ms vs batch of one ${one.toFixed(1)} ms (**${(pair / one).toFixed(2)}x**); two batch-of-one calls ${twoSingles.toFixed(1)} ms.`,
    `Per diffusion step (inpainting, K = ${K}): exact ${exact.msPerStep.toFixed(0)} ms (${exact.evalsPerImage / STEPS} evals), fused ${fused.msPerStep.toFixed(0)} ms (${fused.evalsPerImage / STEPS} evals, ${K} of them in batches of two).`,
    '',
    mdTable(['task', 'method', 'schedule', 'K', 's / image', 'ms / step', 'UNet evals / image', 'evals / s'],
      results.map((r) => [r.task, r.method, r.schedule, r.K, (r.msPerImage / 1000).toFixed(2), r.msPerStep.toFixed(0), r.evalsPerImage, r.evalsPerSecond.toFixed(1)])),
  ].join('\n'));
  console.log('wrote bench/results/sampler.json and the Sampler section of bench/RESULTS.md');
  pipe.destroy();
  process.exit(0);
}

main().catch((e) => { console.error(e); process.exit(1); });
