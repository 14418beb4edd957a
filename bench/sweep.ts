// Settings sweep on the VALIDATION split (issue 13): the grid of settings given on the command
// line, each run on test images --first .. --first + n - 1 (default 400.., src/quality/validation.ts)
// as one batch, scored by PSNR (whole and, for inpainting, the filled region), the colour drift
// (channel means of the output against the observation's; tint = spread of the output's channel
// means on this grey model), UNet evaluations and time per image. The task table's defaults are
// chosen from these rows; bench/quality scores the first N images, which the sweep never uses.
//   npm run bench:sweep -- --cases superres-x4,deblur --steps 10,20 --K 5,10,auto --lr 0.1,0.05 \
//     [--methods newton,no-jacobian] [--schedules exact,fused] [--spaces latent,pixel] [--h 0.005] \
//     [--lr-stride 50,none] [--tol 0.5] [--first 400] [--n 4] [--note "why this grid"]
// A list flag left out takes the task table's default. Rows accumulate in bench/results/sweep.json
// (a rerun of the same settings on the same images replaces its row) and the "Sweep" section of
// bench/RESULTS.md is rewritten from all of them.
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { adapterName } from '../src/gpu/device.js';
import { createNodeGpuContext } from '../src/gpu/device_node.js';
import { nodeModelSource } from '../src/pipeline/load_pipeline_node.js';
import { SdPipeline, type PipelineRequest } from '../src/pipeline/sd_pipeline.js';
import { TASKS, type TaskId } from '../src/pipeline/task_registry.js';
import type { ImageData4 } from '../src/pipeline/tasks.js';
import { buildCase, CASE_KINDS, type CaseKind } from '../src/quality/demo_cases.js';
import { loadTestSet } from '../src/quality/fmnist_data.js';
import { colourDrift, meanPsnr, VALIDATION_FIRST } from '../src/quality/validation.js';
import type { Method, Schedule } from '../src/sampler/types.js';
import { seededNoise } from '../src/sampler/noise.js';
import { nodeModelFiles } from '../src/weights/model_source_node.js';
import { mdTable, writeJson, writeResultsSection } from './results_md.js';

const args = process.argv.slice(2);
const opt = (name: string, d = '') => { const i = args.indexOf(`--${name}`); return i >= 0 && args[i + 1] ? args[i + 1]! : d; };
const list = (name: string) => opt(name).split(',').filter(Boolean);
const MODEL = opt('model', 'weights/fmnist');
const FIRST = Number(opt('first', String(VALIDATION_FIRST))), N = Number(opt('n', '4'));
const JSON_PATH = 'bench/results/sweep.json';
if (FIRST < VALIDATION_FIRST) throw new Error(`--first ${FIRST}: the sweep runs on the validation split (images ${VALIDATION_FIRST}..499), not on the quality bench's`);

const taskOf = (kind: CaseKind): TaskId => (kind.startsWith('inpaint') ? 'inpaint' : kind === 'deblur' ? 'deblur' : 'superres');
const parseLr = (s: string): number | [number, number] => { const v = s.split(':').map(Number); return v.length === 2 ? [v[0]!, v[1]!] : v[0]!; };
const lrText = (lr: number | [number, number]) => (Array.isArray(lr) ? lr.join(':') : String(lr));

/** One point of the grid: the request's settings (undefined = the task table's default). */
interface Point {
  steps?: number; K?: number | 'auto'; lr?: number | [number, number]; method?: Method; schedule?: Schedule;
  inpaintSpace?: 'latent' | 'pixel'; h?: number; lrStride?: number | 'none'; tol?: number;
}

interface Row {
  case: CaseKind; first: number; n: number; settings: string;
  steps: number; K: string; lr: string; method: string; schedule: string; space?: string; h: number; lrStride: string;
  psnr: number; psnr_unknown?: number; mean_error: number; tint: number;
  evals_per_image: number; seconds_per_image: number; load: number;
}

function grid(kind: CaseKind): Point[] {
  const axes: [keyof Point, (string | number | undefined)[]][] = [
    ['steps', list('steps').map(Number)], ['K', list('K').map((k) => (k === 'auto' ? k : Number(k)))], ['lr', list('lr')],
    ['method', list('methods')], ['schedule', list('schedules')],
    ['inpaintSpace', kind.startsWith('inpaint') ? list('spaces') : []], ['h', list('h').map(Number)],
    ['lrStride', list('lr-stride').map((v) => (v === 'none' ? v : Number(v)))], ['tol', list('tol').map(Number)],
  ];
  let points: Point[] = [{}];
  for (const [key, values] of axes) {
    if (!values.length) continue;
    points = points.flatMap((p) => values.map((v) => ({ ...p, [key]: key === 'lr' ? parseLr(String(v)) : v })));
  }
  return points;
}

async function main(): Promise<void> {
  const ctx = await createNodeGpuContext();
  const pipe = await SdPipeline.open(await nodeModelSource(MODEL), { ctx });
  const test = await loadTestSet(nodeModelFiles(MODEL), FIRST + N);
  if (test.count < FIRST + N) throw new Error(`the test set has only ${test.count} images`);
  const S = test.size, px = 3 * S * S;
  const gt: ImageData4 = { data: test.images.slice(FIRST * px, (FIRST + N) * px), shape: [N, 3, S, S] };
  const cases = (opt('cases', CASE_KINDS.join(',')).split(',') as CaseKind[]);
  const rows: Row[] = existsSync(JSON_PATH) ? (JSON.parse(readFileSync(JSON_PATH, 'utf8')).rows as Row[]) : [];
  console.log(`adapter: ${adapterName(ctx.adapter)}; validation images ${FIRST}..${FIRST + N - 1}`);
  for (const kind of cases) {
    const tc = await buildCase(ctx, kind, gt, 1000 + FIRST);
    const task = taskOf(kind), def = TASKS[task];
    const input = tc.request.image!;
    for (const p of grid(kind)) {
      const d = def.defaults;
      const lrStride = p.lrStride === undefined ? d.lrStride : p.lrStride === 'none' ? undefined : p.lrStride;
      const req: PipelineRequest = {
        ...tc.request, steps: p.steps, K: p.K, lr: p.lr, method: p.method, schedule: p.schedule, h: p.h,
        ...(task === 'inpaint' ? { inpaintSpace: p.inpaintSpace } : {}),
        lrStride: p.lrStride, autoTol: p.tol,
        keepKnown: false,   // the sampler's settings are scored on its raw decode (keeping what was observed is chosen apart: bench/keep_observed.ts, bench/keep_known.ts)
        noise: seededNoise(Array.from({ length: N }, (_, j) => 2 * (FIRST + j))),
      };
      const r = await pipe.run(req);
      const drift = colourDrift(r.images.data, input.data, N, S * S, input.shape[2] * input.shape[3]);
      const resolved = { steps: p.steps ?? d.steps, K: String(p.K ?? d.K), lr: lrText(p.lr ?? d.lr), method: p.method ?? d.method,
        schedule: p.schedule ?? d.schedule, space: task === 'inpaint' ? p.inpaintSpace ?? def.extra.inpaintSpace : undefined,
        h: p.h ?? d.h, lrStride: lrStride === undefined ? 'none' : String(lrStride) };
      const key = JSON.stringify({ ...resolved, tol: p.tol });
      const row: Row = {
        case: kind, first: FIRST, n: N, settings: key, ...resolved,
        psnr: meanPsnr(r.images.data, gt.data, N, S), ...(tc.unknown ? { psnr_unknown: meanPsnr(r.images.data, gt.data, N, S, tc.unknown) } : {}),
        mean_error: drift.meanError, tint: drift.tint, evals_per_image: r.evals / N, seconds_per_image: r.seconds / N,
        load: Number(loadavg()[0].toFixed(1)),
      };
      if (p.tol !== undefined) row.K = `${row.K} (tol ${p.tol})`;
      const at = rows.findIndex((x) => x.case === kind && x.first === FIRST && x.n === N && x.settings === key);
      if (at >= 0) rows[at] = row; else rows.push(row);
      console.log(JSON.stringify(row));
      save(rows, adapterName(ctx.adapter));
    }
  }
  process.exit(0);
}

function save(rows: Row[], adapter: string): void {
  rows.sort((a, b) => CASE_KINDS.indexOf(a.case) - CASE_KINDS.indexOf(b.case) || a.settings.localeCompare(b.settings));
  writeJson(JSON_PATH, { adapter, model: MODEL, rows });
  const note = opt('note');
  writeResultsSection('Sweep', [
    `Settings are chosen here, on the **validation split** (test images ${VALIDATION_FIRST}..499; \`--first\` and \`n\` per row), never on the images bench/quality scores (the first N, N ≤ ${VALIDATION_FIRST}). Adapter: **${adapter}**; model \`${MODEL}\`; seeded masks and noise.`,
    'Command: `npm run bench:sweep -- --cases C --steps 10,20 --K 5,10,auto --lr 0.1,0.05 [--methods ...] [--schedules ...] [--spaces ...] [--lr-stride 50,none] [--first 400 --n 4]`.',
    'PSNR (dB) against the ground truth; *unknown*: over the filled region (inpainting); mean error: max over images and channels of |channel mean of the output − that of the observation| and tint: max over images of the spread of the output\'s channel means (both in 1/255; 0 = no tint on this grey model); lr stride: the stride lr is given for (the step\'s rates scale by stride / lr stride; none = per step, the paper\'s).',
    ...(note ? ['', note] : []),
    '',
    mdTable(['case', 'images', 'steps', 'K', 'lr', 'lr stride', 'method', 'schedule', 'space', 'h', 'PSNR', 'PSNR unknown', 'mean error', 'tint', 'UNet evals / image', 's / image', 'load'],
      rows.map((r) => [r.case, `${r.first}..${r.first + r.n - 1}`, r.steps, r.K, r.lr, r.lrStride, r.method, r.schedule, r.space ?? '-', r.h,
        r.psnr.toFixed(2), r.psnr_unknown?.toFixed(2) ?? '-', r.mean_error.toFixed(2), r.tint.toFixed(2), r.evals_per_image.toFixed(0), r.seconds_per_image.toFixed(2), r.load])),
  ].join('\n'));
}

main().catch((e) => { console.error(e); process.exit(1); });
