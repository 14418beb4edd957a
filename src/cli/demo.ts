// `tether demo` (the README's first command): constrained sampling with the embedded model on
// held-out Fashion-MNIST test images, nothing downloaded. Inpainting (box and free-form masks; the
// free-form one also in pixel space), super-resolution x4 and deblurring, unprompted and prompted; writes a PNG grid (observation,
// result, ground truth per row) and prints quality metrics against the ground truth.
import { Command } from 'commander';
import { createNodeGpuContext } from '../gpu/device_node.js';
import type { GpuContext } from '../gpu/context.js';
import { nodeModelSource } from '../pipeline/load_pipeline_node.js';
import { a1111Parameters } from '../pipeline/png_text.js';
import { SdPipeline } from '../pipeline/sd_pipeline.js';
import type { ImageData4, InpaintSpace } from '../pipeline/tasks.js';
import { buildCase, CASE_KINDS, caseTitle, SR_SCALE, type CaseKind } from '../quality/demo_cases.js';
import { CLASS_PROMPTS, loadTestSet } from '../quality/fmnist_data.js';
import { psnr, ssim } from '../quality/metrics.js';
import { bicubicUpsample } from '../quality/resize.js';
import { seededNoise } from '../sampler/noise.js';
import { nodeModelFiles } from '../weights/model_source_node.js';
import { embeddedModelPath } from './inputs_node.js';
import { demoGrid, GRID_COLUMNS } from './demo_grid.js';
import { checkWritable } from './output_paths_node.js';
import { writePngAtomic } from './png_node.js';
import { parseSeed, parseSteps, scheduleOption } from './sampling_options.js';
import { SOFTWARE, TETHER_VERSION } from './version.js';
import { loadVariantCache, saveVariantCache } from './variant_cache_node.js';

interface DemoOptions { model?: string; images: string; steps: string; seed: string; output: string; schedule: 'exact' | 'fused' }

export function demoCommand(deps: { ctx?: GpuContext } = {}): Command {
  return new Command('demo')
    .description('constrained sampling on held-out test images with the embedded model: a PNG grid and metrics')
    .option('--model <path>', 'a diffusers folder holding testset.safetensors (default: the embedded model)')
    .option('--images <n>', 'test images per task', '2')
    .option('--steps <n>', 'diffusion steps (stride 1000 / steps); must divide 1000', '10')
    .option('--seed <n>', 'noise and mask seed', '0')
    .addOption(scheduleOption())
    .option('-o, --output <file>', 'the grid PNG (written atomically)', 'tether-demo.png')
    .action(async function (this: Command, o: DemoOptions) {
      try {
        await runDemo(o, deps);
      } catch (e) {
        this.error(`tether demo: ${String((e as Error).message).split('\n')[0]}`, { exitCode: 1, code: 'tether.demo' });
      }
    });
}

interface Row {
  kind: CaseKind; prompted: boolean; space?: InpaintSpace; label: string; n: number; obs: ImageData4; result: Float32Array; gt: Float32Array;
  /** the method the task table's defaults ran (deblurring's is the no-Jacobian step) */
  method: string;
  /** [S*S], 1 = unknown pixel (inpainting) */
  unknown?: Float32Array; metrics: Record<string, number>; seconds: number;
}

async function runDemo(o: DemoOptions, deps: { ctx?: GpuContext }): Promise<void> {
  const model = o.model ?? embeddedModelPath();
  // the task commands' validation: every option is checked before the model loads
  const N = Number(o.images), steps = parseSteps(o.steps, true), seed = parseSeed(o.seed);
  if (!Number.isInteger(N) || N < 1 || N > 16) throw new Error(`--images must be an integer in 1..16 (got ${o.images})`);
  if (!o.output.toLowerCase().endsWith('.png')) throw new Error(`--output must be a .png file (got ${o.output})`);
  checkWritable(o.output, '-o/--output');
  const ctx = deps.ctx ?? await createNodeGpuContext();
  loadVariantCache(ctx);
  const pipe = await SdPipeline.open(await nodeModelSource(model), { ctx });
  const test = await loadTestSet(nodeModelFiles(model), N);
  const S = test.size, px = 3 * S * S;
  const gt: ImageData4 = { data: test.images, shape: [N, 3, S, S] };
  // progress and status on stderr (stdout carries the metrics table); \r updates only on a terminal
  const tty = Boolean(process.stderr.isTTY);
  process.stderr.write(`tether demo: ${pipe.name} on ${pipe.adapter} (weights ${pipe.weightDtype}), ${N} held-out test images, ${steps} steps, schedule ${o.schedule}\n`);

  const rows: Row[] = [];
  // free-form inpainting also in pixel space (--inpaint-space pixel): every known pixel is
  // constrained, not only latent cells whose whole patch is known
  type Step = { kind: CaseKind; prompted: boolean; space?: InpaintSpace };
  const plan: Step[] = CASE_KINDS.flatMap((kind): Step[] => [{ kind, prompted: false },
    ...(kind === 'inpaint-free' ? [{ kind, prompted: false, space: 'pixel' as const }] : []),
    ...(kind === 'inpaint-free' || kind === 'superres-x4' ? [{ kind, prompted: true }] : [])]);
  for (const { kind, prompted, space } of plan) {
    const label = `${kind}${space ? ` (${space} space)` : ''}${prompted ? ' (prompted)' : ''}`;
    const tc = await buildCase(ctx, kind, gt, seed + 1000);
    // prompted runs: each image's class prompt, guidance w = 2 in the method's form (paper's style setting)
    const groups = prompted ? test.labels.map((l, n) => ({ ns: [n], prompt: CLASS_PROMPTS[l]! })) : [{ ns: [...Array(N).keys()], prompt: '' }];
    const t0 = Date.now();
    for (const g of groups) {
      const pick = (d: ImageData4 | undefined) => d && ({ data: concatRows(d, g.ns), shape: [g.ns.length, ...d.shape.slice(1)] as ImageData4['shape'] });
      // the task table's settings; prompted runs add the paper's style-setting guidance w = 2 (method's form)
      const r = await pipe.run({
        ...tc.request, image: pick(tc.request.image), mask: pick(tc.request.mask), inpaintSpace: space,
        prompt: g.prompt, ...(prompted ? { guidance: 3, cfgForm: 'newton' as const } : {}),
        steps, schedule: o.schedule, noise: seededNoise(g.ns.map((n) => seed + 2 * n)),
      }, { onProgress: (p) => { if (tty) process.stderr.write(`\r  ${label}: step ${p.step}/${p.steps}, ${p.evals} UNet evals   `); } });
      g.ns.forEach((n, j) => {
        const res = r.images.data.subarray(j * px, (j + 1) * px), truth = gt.data.subarray(n * px, (n + 1) * px);
        const obsShape = tc.request.image!.shape, opx = obsShape[1] * obsShape[2] * obsShape[3];
        const obs: ImageData4 = { data: tc.request.image!.data.slice(n * opx, (n + 1) * opx), shape: [1, obsShape[1], obsShape[2], obsShape[3]] };
        const unknown = tc.unknown?.slice(n * S * S, (n + 1) * S * S);
        rows.push({ kind, prompted, space, label, n, obs, result: res.slice(), gt: truth.slice(), unknown, method: String(r.parameters['method']),
          metrics: scoreCase(kind, res, truth, obs, unknown, S), seconds: r.seconds / g.ns.length });
      });
    }
    process.stderr.write(`${tty ? '\r' : ''}  ${label}: done in ${((Date.now() - t0) / 1000).toFixed(1)} s${tty ? ' '.repeat(30) : ''}\n`);
  }

  saveVariantCache(ctx);
  printTable(rows);
  const img = demoGrid(rows.map((r) => ({ ...r, lines: rowLines(r) })), S);
  await writePngAtomic(o.output, img, demoPngText({ model: pipe.name, N, steps, seed, schedule: o.schedule, dtype: pipe.weightDtype, adapter: pipe.adapter, width: img.width, height: img.height, rows }));
  process.stderr.write(`\nwrote ${o.output}: one row per (task, image): ${GRID_COLUMNS.join(' | ')}\n`);
  pipe.destroy();
}

function concatRows(d: ImageData4, ns: number[]): Float32Array {
  const per = d.shape[1] * d.shape[2] * d.shape[3];
  const out = new Float32Array(ns.length * per);
  ns.forEach((n, j) => out.set(d.data.subarray(n * per, (n + 1) * per), j * per));
  return out;
}

function scoreCase(kind: CaseKind, res: Float32Array, gt: Float32Array, obs: ImageData4, unknown: Float32Array | undefined, S: number): Record<string, number> {
  const m: Record<string, number> = { psnr: psnr(res, gt, 3, S, S), ssim: ssim(res, gt, 3, S, S) };
  if (unknown) {
    m.psnr_unknown = psnr(res, gt, 3, S, S, unknown);
    m.ssim_unknown = ssim(res, gt, 3, S, S, unknown);
  }
  if (kind === 'superres-x4') m.psnr_bicubic = psnr(bicubicUpsample(obs.data, 3, S / SR_SCALE, S / SR_SCALE, SR_SCALE), gt, 3, S, S);
  if (kind === 'deblur') m.psnr_observation = psnr(obs.data, gt, 3, S, S);
  return m;
}

function printTable(rows: Row[]): void {
  const keys = ['psnr', 'ssim', 'psnr_unknown', 'ssim_unknown', 'psnr_bicubic', 'psnr_observation'];
  console.log(`\n${'case'.padEnd(34)}${keys.map((k) => k.padStart(17)).join('')}${'s/image'.padStart(9)}`);
  const groups = new Map<string, Row[]>();
  for (const r of rows) {
    const k = r.label;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  for (const [k, rs] of groups) {
    const mean = (key: string) => { const v = rs.map((r) => r.metrics[key]).filter((x): x is number => x !== undefined); return v.length ? (v.reduce((a, b) => a + b, 0) / v.length).toFixed(key.startsWith('ssim') ? 3 : 2) : '-'; };
    console.log(`${k.padEnd(34)}${keys.map((key) => mean(key).padStart(17)).join('')}${(rs.reduce((a, r) => a + r.seconds, 0) / rs.length).toFixed(1).padStart(9)}`);
  }
  console.log('(PSNR in dB and SSIM against the ground truth; _unknown: over the filled region only; psnr_bicubic: bicubic up-sampling of the same low-resolution input; psnr_observation: the blurred input itself)');
}

/** A row's labels: the task, how it was sampled, which test image. */
function rowLines(r: Row): string[] {
  return [caseTitle(r.kind), [r.method, r.space && `${r.space} space`, r.prompted && 'prompted'].filter(Boolean).join(', '), `test image ${r.n}`];
}

interface DemoRun { model: string; N: number; steps: number; seed: number; schedule: string; dtype: string; adapter: string; width: number; height: number; rows: Row[] }

/** The grid's PNG text: A1111 `parameters` (what image tools show), the run as JSON in `tether`. */
function demoPngText(d: DemoRun): Record<string, string> {
  const cases = [...new Set(d.rows.map((r) => r.label))];
  const parameters = a1111Parameters({
    prompt: `tether demo: ${cases.join('; ')}`, negativePrompt: '', steps: d.steps, guidance: 1, seed: d.seed, width: d.width, height: d.height,
    model: d.model.split(/[\\/]/).pop()!, extra: { 'Tether task': 'demo', 'Tether method': [...new Set(d.rows.map((r) => r.method))].join(', '), Schedule: d.schedule, Images: d.N, 'Weight dtype': d.dtype, Version: SOFTWARE },
  });
  const tether = { task: 'demo', model: d.model, images: d.N, steps: d.steps, seed: d.seed, schedule: d.schedule, weight_dtype: d.dtype, adapter: d.adapter,
    columns: GRID_COLUMNS, rows: d.rows.map((r) => ({ case: r.label, image: r.n, ...r.metrics })), version: TETHER_VERSION };
  return { parameters, tether: JSON.stringify(tether), Software: SOFTWARE };
}
