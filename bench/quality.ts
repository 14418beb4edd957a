// Quality benchmark (issues 5, 13): on the first N held-out Fashion-MNIST test images, for each
// task and each method — the task table's defaults, exact and fused Newton, Newton with K auto,
// the no-Jacobian step, replacement (inpainting), unconstrained — PSNR / SSIM against the ground
// truth (whole image and unknown region), the known region kept and raw, the constraint's
// residual, a Fréchet distance on the embedded classifier's features (run by Tether's kernels),
// UNet evaluations and time per image. Rows are appended as they finish, so a long run can be read
// while it goes. Held out means N <= 400: images 400..499 are the validation split settings are
// chosen on (bench/sweep.ts, src/quality/validation.ts); a larger N warns.
//   npm run bench:quality [-- --n 100] [--steps 10,20] [--batch 50] [--cases inpaint-box,...] [--methods defaults,newton-exact,...] [--K 5 --lr 0.5:0.1] [--append]
// Writes bench/results/quality.json and the "Quality" section of bench/RESULTS.md (--append --render: only rewrites the section from the JSON).
//
// The N = 100 record of issue 13 (every case, the methods that matter, 10 and 20 steps) is the
// command in bench/RESULTS.md "Quality: what the numbers say"; larger N is for a lent GPU machine:
// `bash tools/gpu_pack.sh` here, then `bash tools/gpu_bench.sh 480 quality` there (carry ['.gl',
// '.gpu', 'bench/results']; with --append rows already made are kept).
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { adapterName } from '../src/gpu/device.js';
import { createNodeGpuContext } from '../src/gpu/device_node.js';
import type { GpuContext } from '../src/gpu/context.js';
import { nodeModelSource } from '../src/pipeline/load_pipeline_node.js';
import { SdPipeline, type PipelineRequest } from '../src/pipeline/sd_pipeline.js';
import { pullBackFor, requestedK, TASKS, type TaskId } from '../src/pipeline/task_registry.js';
import type { ImageData4, InpaintSpace } from '../src/pipeline/tasks.js';
import { buildCase, CASE_KINDS, SR_SCALE, BLUR_SIGMA, type CaseKind, type TaskCase } from '../src/quality/demo_cases.js';
import { FmnistClassifier, type ClassifierConfig } from '../src/quality/fmnist_classifier.js';
import { loadTestSet } from '../src/quality/fmnist_data.js';
import { featureStats, frechetDistance, psnr, ssim } from '../src/quality/metrics.js';
import { BENCH_MAX_N } from '../src/quality/validation.js';
import { bicubicUpsample } from '../src/quality/resize.js';
import type { Method, Schedule } from '../src/sampler/types.js';
import { blurOperator, downscaleOperator } from '../src/sampler/constraints/pixel_operators.js';
import { seededNoise } from '../src/sampler/noise.js';
import { openSafetensors } from '../src/weights/safetensors.js';
import { Weights } from '../src/weights/weights.js';
import { nodeModelFiles } from '../src/weights/model_source_node.js';
import { mdTable, writeJson, writeResultsSection } from './results_md.js';

const args = process.argv.slice(2);
const opt = (name: string, d: string) => { const i = args.indexOf(`--${name}`); return i >= 0 && args[i + 1] ? args[i + 1]! : d; };
const MODEL = opt('model', 'weights/fmnist');
const N = Number(opt('n', '100')), BATCH = Number(opt('batch', '50'));
// --steps 10,20: every case and method at each step count
const STEP_LIST = opt('steps', '20').split(',').map(Number);
let STEPS = STEP_LIST[0]!;
// the first N test images only: images from VALIDATION_FIRST on are the sweep's (settings are chosen there)
// (N = 500, tools/gpu_bench.sh's all-images run, is allowed but says so: its last images chose the settings)
if (N > BENCH_MAX_N) console.warn(`warning: --n ${N} includes images ${BENCH_MAX_N}.., the validation split the defaults were chosen on (bench/sweep.ts): not held out for those settings`);
const CASES = opt('cases', CASE_KINDS.join(',')).split(',') as CaseKind[];
// --K / --lr override the per-case settings (inpainting K 5, lr 0.5:0.1; the others K 10, lr 0.1)
const K_ARG = opt('K', ''), LR_ARG = opt('lr', '');
// '-pixel': inpainting with the pixel-space constraint (--inpaint-space pixel), inpainting cases only
// 'defaults': the task table's settings as a user gets them with no options (only steps set);
// '-autoK': K 'auto' (stop when the residual stops improving, the table's K as the cap)
interface MethodSpec { name: string; method: Method; schedule: Schedule; space?: InpaintSpace; autoK?: boolean; defaults?: boolean }
const ALL_METHODS: MethodSpec[] = [
  { name: 'defaults', method: 'newton', schedule: 'exact', defaults: true },
  { name: 'newton-exact', method: 'newton', schedule: 'exact' }, { name: 'newton-fused', method: 'newton', schedule: 'fused' },
  { name: 'newton-exact-autoK', method: 'newton', schedule: 'exact', autoK: true },
  { name: 'no-jacobian', method: 'no-jacobian', schedule: 'exact' }, { name: 'replace', method: 'replace', schedule: 'exact' },
  { name: 'newton-exact-pixel', method: 'newton', schedule: 'exact', space: 'pixel' },
  { name: 'newton-fused-pixel', method: 'newton', schedule: 'fused', space: 'pixel' },
  { name: 'no-jacobian-pixel', method: 'no-jacobian', schedule: 'exact', space: 'pixel' },
  // dps (issue 15): the gradient baseline, J^T d by the UNet's VJP; every case (inpainting in the task's default latent space;
  // super-resolution and deblurring with d = D^T A^T (y - A D(x0)) through the VAE decoder's VJP)
  { name: 'dps', method: 'dps', schedule: 'exact' },
  { name: 'unconstrained', method: 'none', schedule: 'exact' },
];
const wanted = opt('methods', '').split(',').filter(Boolean);
const METHODS = wanted.length ? ALL_METHODS.filter((m) => wanted.includes(m.name)) : ALL_METHODS;

interface Row {
  case: CaseKind; method: string; n: number; psnr: number; /** of the raw decode (before known pixels are kept / the projection onto the observation) */ psnr_raw?: number; ssim: number; psnr_unknown?: number; ssim_unknown?: number;
  /** inpainting: known-region PSNR of the result (known pixels kept) and of the raw decode, unknown-region PSNR of the raw decode */
  psnr_known?: number; psnr_known_raw?: number; psnr_unknown_raw?: number;
  residual_rms: number; fd: number; seconds_per_image: number; evals_per_image: number; baseline_psnr?: number;
  steps: number; /** 1-minute load average when the row finished (2-core machines are shared) */ load?: number;
  K: number; lr: string;
  /** K 'auto' (the -autoK methods, and 'defaults' where the task's default is): K above is the cap */
  auto?: boolean;
  /** pixel-space cases: how the pixel error became a latent direction (absent: 'encoder', the rows made before the option) */
  pull_back?: 'encoder' | 'decoder';
}

async function features(ctx: GpuContext, clf: FmnistClassifier, images: Float32Array, count: number, S: number): Promise<Float32Array> {
  const out = new Float32Array(count * clf.config.feature_dim);
  for (let i = 0; i < count; i += BATCH) {
    const b = Math.min(BATCH, count - i);
    const x = ctx.upload(images.subarray(i * 3 * S * S, (i + b) * 3 * S * S), [b, 3, S, S]);
    const { features: f, logits } = clf.forward(ctx, x);
    out.set(await ctx.read(f), i * clf.config.feature_dim);
    ctx.release(x, f, logits);
  }
  return out;
}

/** RMS of A(result) - y in [0,1] pixel units (inpainting: over the known pixels). */
async function residual(ctx: GpuContext, kind: CaseKind, res: Float32Array, gt: Float32Array, known: Float32Array | undefined, S: number, count: number): Promise<number> {
  if (known) {
    let se = 0, n = 0;
    for (let i = 0; i < count; i++) for (let c = 0; c < 3; c++) for (let p = 0; p < S * S; p++) {
      if (!known[i * S * S + p]) continue;
      const k = (i * 3 + c) * S * S + p;
      se += ((res[k]! - gt[k]!) / 2) ** 2; n++;
    }
    return Math.sqrt(se / n);
  }
  const op = kind === 'superres-x4' ? downscaleOperator(ctx, S, S, SR_SCALE, 'bicubic') : blurOperator(ctx, S, S, BLUR_SIGMA);
  const a = ctx.upload(res, [count, 3, S, S]), b = ctx.upload(gt, [count, 3, S, S]);
  const ya = await ctx.read(op.forward(ctx, a)), yb = await ctx.read(op.forward(ctx, b));
  op.destroy(ctx); ctx.release(a, b);
  let se = 0;
  for (let i = 0; i < ya.length; i++) se += ((ya[i]! - yb[i]!) / 2) ** 2;
  return Math.sqrt(se / ya.length);
}

const DEFAULTS_TEXT = (['inpaint', 'superres', 'deblur'] as TaskId[]).map((t) => {
  const d = TASKS[t].defaults;
  const e = TASKS[t].extra;
  return `${t}: ${d.method}${e.pullBack ? ` (${e.pullBack} pull-back)` : ''}, steps ${d.steps}, K ${d.innerStop === 'auto' ? `auto ≤ ${d.K}` : d.K}, lr ${Array.isArray(d.lr) ? d.lr.join('→') : d.lr}${d.lrStride ? ` per stride ${d.lrStride}` : ''}, h ${d.h}, ${d.schedule}${t === 'inpaint' ? `, ${TASKS.inpaint.extra.inpaintSpace}` : ''}`;
}).join('; ');
const taskOf = (kind: CaseKind): TaskId => (kind.startsWith('inpaint') ? 'inpaint' : kind === 'deblur' ? 'deblur' : 'superres');

/** The pull-back a case's requests run with (no method sets one: the task table's), for pixel-space constraints only. */
function pullBackOf(kind: CaseKind, m: MethodSpec): Pick<Row, 'pull_back'> {
  const via = pullBackFor(taskOf(kind), m.space);
  return via ? { pull_back: via } : {};
}

/** Whether method m runs K 'auto' on a case: the -autoK methods, and 'defaults' where the task's default K is auto. */
const isAuto = (kind: CaseKind, m: MethodSpec) => Boolean(m.autoK) || (Boolean(m.defaults) && requestedK(taskOf(kind), undefined) === 'auto');

/** Inner steps and learning rate of a case and method: --K / --lr, else the task table's defaults. */
function caseSettings(kind: CaseKind, method: Method, kArg = K_ARG, lrArg = LR_ARG): { K: number; lr: number | [number, number] } {
  const inner = method === 'newton' || method === 'no-jacobian' || method === 'dps';
  const d = TASKS[taskOf(kind)].defaults;
  const K = !inner ? 0 : kArg ? Number(kArg) : d.K;
  const lrs = lrArg ? lrArg.split(':').map(Number) : Array.isArray(d.lr) ? d.lr : [d.lr];
  if (!Number.isInteger(K) || K < 0 || lrs.some((v) => !(v > 0))) throw new Error(`bad --K ${K_ARG} or --lr ${LR_ARG}`);
  return { K, lr: lrs.length === 2 ? [lrs[0]!, lrs[1]!] : lrs[0]! };
}
const lrText = (lr: number | [number, number]) => (Array.isArray(lr) ? lr.join(':') : String(lr));

// 'defaults' resolves to the same request as 'newton-exact' wherever the table's defaults are the
// bench's per-case settings: such a run is made once and its result reported under both names
const runs = new Map<string, Awaited<ReturnType<typeof runOnce>>>();

async function runMethod(ctx: GpuContext, pipe: SdPipeline, kind: CaseKind, m: MethodSpec,
                         settings: ReturnType<typeof caseSettings>, gt: ImageData4, S: number) {
  const b = Math.min(BATCH, N);
  const tc = await buildCase(ctx, kind, { data: gt.data.subarray(0, b * 3 * S * S), shape: [b, 3, S, S] }, 1000);
  const { image, mask, noise, seed, ...resolved } = pipe.resolve(requestOf(m, settings, tc.request, b, S));
  void image; void mask; void noise; void seed;
  const key = JSON.stringify({ kind, N, ...resolved });
  const hit = runs.get(key);
  if (hit) { console.error(`${kind} ${m.name}: the same request as an earlier method; its result is reused`); return hit; }
  const r = await runOnce(ctx, pipe, kind, m, settings, gt, S);
  runs.set(key, r);
  return r;
}

/** The request of a case chunk of b images for method m. */
function requestOf(m: MethodSpec, { K, lr }: ReturnType<typeof caseSettings>, base: TaskCase['request'], b: number, S: number): PipelineRequest {
  return m.defaults ? { ...base, steps: STEPS } : {
    ...base, ...(m.method === 'none' ? { task: 'generate', image: undefined, mask: undefined, count: b, width: S, height: S } : {}),
    inpaintSpace: m.space, steps: STEPS, K: m.autoK ? 'auto' : K, lr, schedule: m.schedule, method: m.method,
  };
}

async function runOnce(ctx: GpuContext, pipe: SdPipeline, kind: CaseKind, m: MethodSpec,
                       settings: ReturnType<typeof caseSettings>, gt: ImageData4, S: number) {
  const out = new Float32Array(N * 3 * S * S), raw = new Float32Array(N * 3 * S * S);
  let seconds = 0, evals = 0;
  let unknownAll: Float32Array | undefined;
  for (let i = 0; i < N; i += BATCH) {
    const b = Math.min(BATCH, N - i);
    const chunk: ImageData4 = { data: gt.data.subarray(i * 3 * S * S, (i + b) * 3 * S * S), shape: [b, 3, S, S] };
    const tc = await buildCase(ctx, kind, chunk, 1000 + i);
    if (tc.unknown) { unknownAll ??= new Float32Array(N * S * S); unknownAll.set(tc.unknown, i * S * S); }
    const noise = seededNoise(Array.from({ length: b }, (_, j) => 2 * (i + j)));
    const r = await pipe.run({ ...requestOf(m, settings, tc.request, b, S), noise });
    if (m.method === 'none' && r.images.shape[0] !== b) throw new Error('unconstrained batch size mismatch');
    out.set(r.images.data, i * 3 * S * S);
    raw.set((r.rawImages ?? r.images).data, i * 3 * S * S);
    seconds += r.seconds; evals += r.evals;
    process.stderr.write(`\r${kind} ${m.name}: ${i + b}/${N} images, ${(seconds / (i + b)).toFixed(2)} s/image   `);
  }
  process.stderr.write('\n');
  return { out, raw, unknownAll, seconds, evals };
}

async function main(): Promise<void> {
  const ctx = await createNodeGpuContext();
  const pipe = await SdPipeline.open(await nodeModelSource(MODEL), { ctx });
  const files = nodeModelFiles(MODEL);
  const clfCfg = JSON.parse((await files.readText('classifier/config.json'))!) as ClassifierConfig;
  const clfSrc = await files.open('classifier/model.safetensors');
  if (!clfSrc) throw new Error(`${MODEL}: no classifier/model.safetensors`);
  const clf = await FmnistClassifier.load(ctx, Weights.fromFiles([await openSafetensors(clfSrc)], { label: 'classifier' }), clfCfg, { weightDtype: 'f32' });
  const test = await loadTestSet(files, N);
  const S = test.size;
  if (test.count < N) throw new Error(`the test set has only ${test.count} images`);
  const gt: ImageData4 = { data: test.images, shape: [N, 3, S, S] };
  const adapter = adapterName(ctx.adapter);
  console.log(`adapter: ${adapter}; ${N} test images, ${STEPS} steps, batch ${BATCH}`);
  const gtStats = featureStats(await features(ctx, clf, gt.data, N, S), N, clf.config.feature_dim);

  // --append: keep the rows of earlier runs (each row records its own N, steps and load) and
  // replace only the (case, method) pairs run now
  const runsNow = (r: Row) => CASES.includes(r.case) && METHODS.some((m) => {
    const c = caseSettings(r.case, m.method);
    return m.name === r.method && r.K === c.K && r.lr === lrText(c.lr) && STEP_LIST.includes(r.steps) && Boolean(r.auto) === isAuto(r.case, m) &&
      (r.pull_back ?? 'encoder') === (pullBackOf(r.case, m).pull_back ?? 'encoder');
  });
  // rows made before K and lr were recorded used the per-case defaults
  const defaults = (r: Row) => {
    const c = caseSettings(r.case, ALL_METHODS.find((x) => x.name === r.method)!.method, '', '');
    return { K: c.K, lr: lrText(c.lr) };
  };
  const rows: Row[] = args.includes('--append') && existsSync('bench/results/quality.json')
    ? (JSON.parse(readFileSync('bench/results/quality.json', 'utf8')).rows as Row[]).map((r) => ({ ...defaults(r), ...r, steps: r.steps ?? STEPS }))
      .filter((r) => args.includes('--render') || !runsNow(r)) : [];
  const order = (r: Row) => CASE_KINDS.indexOf(r.case) * 100 + ALL_METHODS.findIndex((m) => m.name === r.method);
  const save = () => {
    rows.sort((a, b) => order(a) - order(b) || a.K - b.K || a.lr.localeCompare(b.lr));
    writeJson('bench/results/quality.json', { adapter: { ...ctx.adapter }, model: MODEL, n: N, steps: STEPS, rows });
    writeResultsSection('Quality', [
      `Adapter: **${adapter}**; embedded model \`${MODEL}\`; N held-out test images and steps as in each row (the first N of the test split, seeded masks and noise); K and lr as in each row (${DEFAULTS_TEXT}); super-resolution x${SR_SCALE}, antialiased bicubic; deblurring, Gaussian σ ${BLUR_SIGMA}. *defaults*: the task table's settings with only the steps given; *(D^T)*: the pixel error pulled back through the VAE decoder's VJP (rows without it: the encoder's finite difference); *-autoK*: K auto (the inner steps stop when the residual stops improving, at most K); lr is given per stride ${TASKS.inpaint.defaults.lrStride ?? '(per step)'} where a task has lrStride (scaled by stride / lrStride).`,
      `Command: \`npm run bench:quality -- --n N --steps 10,20 [--cases ...] [--methods ...] [--K K --lr LR] --append\`. PSNR (dB) and SSIM against the ground truth, of the result as returned (known pixels kept; super-resolution and deblurring projected onto the observation, src/pipeline/keep_observed.ts); *PSNR raw*: of the decode before that; *unknown*: over the filled region; residual: RMS of A(raw decode) − y in [0,1] units (of the returned result it is ~0 by construction); FD: Fréchet distance of classifier features to the same N test images; baseline PSNR: bicubic up-sampling of the low-resolution input (super-resolution), the blurred input itself (deblurring).`,
      '',
      mdTable(['case', 'method', 'N', 'steps', 'K', 'lr', 'PSNR', 'PSNR raw', 'SSIM', 'PSNR unknown', 'SSIM unknown', 'PSNR known (raw)', 'PSNR unknown raw', 'residual', 'FD', 's / image', 'UNet evals / image', 'baseline PSNR'],
        rows.map((r) => [r.case, r.pull_back === 'decoder' ? `${r.method} (D^T)` : r.method, String(r.n), String(r.steps), r.auto ? `auto ≤ ${r.K}` : String(r.K), r.lr, r.psnr.toFixed(2), r.psnr_raw?.toFixed(2) ?? '-', r.ssim.toFixed(3), r.psnr_unknown?.toFixed(2) ?? '-', r.ssim_unknown?.toFixed(3) ?? '-',
          r.psnr_known === undefined ? '-' : `${r.psnr_known.toFixed(1)} (${r.psnr_known_raw!.toFixed(1)})`, r.psnr_unknown_raw?.toFixed(2) ?? '-',
          r.residual_rms.toFixed(4), r.fd.toFixed(2), r.seconds_per_image.toFixed(2), r.evals_per_image.toFixed(0), r.baseline_psnr?.toFixed(2) ?? '-'])),
    ].join('\n'));
  };
  if (args.includes('--render')) { save(); console.log('rendered bench/results/quality.json into the Quality section'); return; }  // after editing the JSON by hand
  for (const steps of STEP_LIST) for (const kind of CASES) {
    STEPS = steps;
    for (const m of METHODS) {
      if ((m.method === 'replace' || m.space) && !kind.startsWith('inpaint')) continue;
      const settings = caseSettings(kind, m.method);
      const { out, raw, unknownAll, seconds, evals } = await runMethod(ctx, pipe, kind, m, settings, gt, S);
      let p = 0, pRaw = 0, s = 0, pu = 0, su = 0, pk = 0, pkRaw = 0, puRaw = 0;
      for (let i = 0; i < N; i++) {
        const a = out.subarray(i * 3 * S * S, (i + 1) * 3 * S * S), b = gt.data.subarray(i * 3 * S * S, (i + 1) * 3 * S * S);
        p += psnr(a, b, 3, S, S) / N; s += ssim(a, b, 3, S, S) / N;
        pRaw += psnr(raw.subarray(i * 3 * S * S, (i + 1) * 3 * S * S), b, 3, S, S) / N;
        if (unknownAll) {
          const u = unknownAll.subarray(i * S * S, (i + 1) * S * S), k = u.map((v) => 1 - v), ar = raw.subarray(i * 3 * S * S, (i + 1) * 3 * S * S);
          pu += psnr(a, b, 3, S, S, u) / N; su += ssim(a, b, 3, S, S, u) / N;
          // known region: the result as returned (known pixels kept, capped at 99 dB) and the raw decode
          pk += Math.min(99, psnr(a, b, 3, S, S, k)) / N; pkRaw += psnr(ar, b, 3, S, S, k) / N; puRaw += psnr(ar, b, 3, S, S, u) / N;
        }
      }
      const known = unknownAll?.map((v) => 1 - v);
      const row: Row = { case: kind, method: m.name, n: N, psnr: p, psnr_raw: pRaw, ssim: s,
        ...(unknownAll ? { psnr_unknown: pu, ssim_unknown: su, psnr_known: pk, psnr_known_raw: pkRaw, psnr_unknown_raw: puRaw } : {}),
        // of the raw decode: with the known pixels pasted back the kept image's residual is 0 by construction
        residual_rms: await residual(ctx, kind, raw, gt.data, known, S, N),
        fd: frechetDistance(featureStats(await features(ctx, clf, out, N, S), N, clf.config.feature_dim), gtStats, clf.config.feature_dim),
        seconds_per_image: seconds / N, evals_per_image: evals / N, steps: STEPS, load: Number(loadavg()[0].toFixed(1)),
        K: settings.K, lr: lrText(settings.lr), ...(isAuto(kind, m) ? { auto: true } : {}), ...pullBackOf(kind, m) };
      if (kind === 'superres-x4' && m.name === 'newton-exact') {
        let bp = 0;
        const tc = await buildCase(ctx, kind, gt, 0);
        const lo = tc.request.image!, px = 3 * (S / SR_SCALE) ** 2;
        for (let i = 0; i < N; i++) bp += psnr(bicubicUpsample(lo.data.subarray(i * px, (i + 1) * px), 3, S / SR_SCALE, S / SR_SCALE, SR_SCALE), gt.data.subarray(i * 3 * S * S, (i + 1) * 3 * S * S), 3, S, S) / N;
        row.baseline_psnr = bp;
      }
      if (kind === 'deblur' && m.name === 'newton-exact') {  // the blurred observation itself
        const tc = await buildCase(ctx, kind, gt, 0), px = 3 * S * S;
        let bp = 0;
        for (let i = 0; i < N; i++) bp += psnr(tc.request.image!.data.subarray(i * px, (i + 1) * px), gt.data.subarray(i * px, (i + 1) * px), 3, S, S) / N;
        row.baseline_psnr = bp;
      }
      rows.push(row);
      console.log(JSON.stringify(row));
      save();
    }
  }
  console.log('wrote bench/results/quality.json and the Quality section of bench/RESULTS.md');
  process.exit(0);
}

main().catch((e) => { console.error(e); process.exit(1); });
