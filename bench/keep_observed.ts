// Keeping what was observed (ours, src/pipeline/keep_observed.ts): how many conjugate-gradient
// iterations of the projection onto A x = y to take after decoding, chosen on validation images —
// the last N of the embedded model's 500 held-out images (bench/quality.ts scores the first N) —
// for super-resolution x4 and deblurring, with the observation exact (as bench/quality makes it) and
// quantised to 8 bits (as a PNG input is: the projection then also fits the rounding, and a blur's
// ill-conditioned directions amplify it). One sampling run per case and step count (keepKnown off);
// every iteration count is applied to the same raw result.
//   npx tsx bench/keep_observed.ts [--n 8] [--steps 10,20]
// Writes bench/results/keep_observed.json and the "Keeping what was observed" section of bench/RESULTS.md.
import { loadavg } from 'node:os';
import { createNodeGpuContext } from '../src/gpu/device_node.js';
import { keepObserved } from '../src/pipeline/keep_observed.js';
import { nodeModelSource } from '../src/pipeline/load_pipeline_node.js';
import { SdPipeline } from '../src/pipeline/sd_pipeline.js';
import type { ImageData4 } from '../src/pipeline/tasks.js';
import { BLUR_SIGMA, buildCase, SR_SCALE, type CaseKind } from '../src/quality/demo_cases.js';
import { loadTestSet } from '../src/quality/fmnist_data.js';
import { colourDrift, meanPsnr } from '../src/quality/validation.js';
import { blurAxes, downscaleAxes } from '../src/sampler/constraints/pixel_operators.js';
import { seededNoise } from '../src/sampler/noise.js';
import { nodeModelFiles } from '../src/weights/model_source_node.js';
import { mdTable, writeJson, writeResultsSection } from './results_md.js';

const args = process.argv.slice(2);
const opt = (name: string, d: string) => { const i = args.indexOf(`--${name}`); return i >= 0 && args[i + 1] ? args[i + 1]! : d; };
const N = Number(opt('n', '8')), STEP_LIST = opt('steps', '10,20').split(',').map(Number), MODEL = 'weights/fmnist';
const ITERATIONS = [0, 1, 2, 4, 8, 16, 32];
const quantise = (y: Float32Array) => y.map((v) => Math.round((Math.min(1, Math.max(-1, v)) + 1) * 127.5) / 127.5 - 1);

const ctx = await createNodeGpuContext();
const pipe = await SdPipeline.open(await nodeModelSource(MODEL), { ctx });
const all = await loadTestSet(nodeModelFiles(MODEL));
const S = all.size, px = 3 * S * S, first = all.count - N;
const gt: ImageData4 = { data: all.images.slice(first * px, (first + N) * px), shape: [N, 3, S, S] };
interface Row { case: CaseKind; steps: number; y: string; iterations: number; psnr: number; residualBefore: number; residualAfter: number; meanError: number; tint: number }
const rows: Row[] = [];
for (const steps of STEP_LIST) for (const kind of ['superres-x4', 'deblur'] as CaseKind[]) {
  const tc = await buildCase(ctx, kind, gt, 77);
  const axes = kind === 'superres-x4' ? downscaleAxes(S, S, SR_SCALE, 'bicubic') : blurAxes(S, S, BLUR_SIGMA);
  for (const [yName, y] of [['exact', tc.request.image!.data], ['8-bit', quantise(tc.request.image!.data)]] as const) {
    const r = await pipe.run({ ...tc.request, image: { data: y, shape: tc.request.image!.shape }, keepKnown: false, steps, noise: seededNoise([...Array(N).keys()].map((n) => 2 * (first + n))) });
    const hwIn = tc.request.image!.shape[2] * tc.request.image!.shape[3];
    for (const iterations of ITERATIONS) {
      const { image, before, after } = keepObserved(r.images.data, y, r.images.shape, axes, { iterations });
      const drift = colourDrift(image, y, N, S * S, hwIn);
      const row: Row = { case: kind, steps, y: yName, iterations, psnr: meanPsnr(image, gt.data, N, S), residualBefore: before / 2, residualAfter: after / 2, meanError: drift.meanError, tint: drift.tint };
      rows.push(row);
      console.log(JSON.stringify(row));
    }
  }
}
const load = Number(loadavg()[0].toFixed(1));
writeJson('bench/results/keep_observed.json', { adapter: pipe.adapter, model: MODEL, n: N, images: [first, first + N - 1], load, rows });
writeResultsSection('Keeping what was observed', [
  `Adapter: **${pipe.adapter}**; embedded model, validation images ${first}..${first + N - 1} (not the quality bench's), the task table's settings with the steps given, super-resolution x${SR_SCALE} (bicubic), deblurring σ ${BLUR_SIGMA}; load ${load}. ` +
  'Command: `npx tsx bench/keep_observed.ts --n ' + N + ' --steps ' + STEP_LIST.join(',') + '`. The decoded result x is moved by Aᵀλ with (A Aᵀ)λ = y − A x solved by that many CG iterations (0 = the raw decode); *y*: the observation exact, or rounded to 8 bits as a PNG input is; residual: RMS of A(x) − y in [0,1] units before and after; channel-mean error and tint in 1/255 (colourDrift: the largest |mean_c(output) − mean_c(y)|, and the largest spread of the output\'s channel means; every image here is grey).',
  '',
  'What it says (images 492..499): the projection never lowered PSNR on an exact observation, as the theory says. **Super-resolution**: CG converges in ~4 iterations (A Aᵀ is well conditioned); +0.07-0.11 dB and the tint goes from 1.8-2.4/255 to 0.08-0.11; the channel-mean error stays ~1/255 because at 32 px the antialiased bicubic downscale does not preserve a channel mean (the true images are 1.18/255 off their own observation: the output is as close as the truth is). **Deblurring**: +1.4 dB at 8 iterations, +1.6-2.6 at 16-32 with an exact y, but with an 8-bit y 32 iterations fall back to +0.05-0.15 (the blur\'s tiny eigenvalues amplify the rounding: semi-convergence); 16 is best for 8-bit input by 0.2 dB, and 8 is the default — half the iterations of the best, far from the fall, with the tint 0.38-0.47/255 and the mean error ≤ 0.54/255. 10 and 20 steps agree. The default is `KEEP_OBSERVED_ITERATIONS` in src/pipeline/keep_observed.ts.',
  '',
  mdTable(['case', 'steps', 'y', 'CG iterations', 'PSNR', 'residual before', 'residual after', 'channel-mean error', 'tint'],
    rows.map((r) => [r.case, r.steps, r.y, r.iterations, r.psnr.toFixed(2), r.residualBefore.toFixed(4), r.residualAfter.toFixed(4), r.meanError.toFixed(2), r.tint.toFixed(2)])),
].join('\n'));
pipe.destroy();
process.exit(0);
