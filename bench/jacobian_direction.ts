// Issue 13, deliverable 4: why Newton's step loses to the no-Jacobian step on deblurring, by
// measurement. Both methods start each diffusion step from the same x0 = x0(x_t) and the same
// direction d (the pull-back of the constraint's error, method.md); they differ in what they add
// to x_t, and so in what they add to x0 to first order (J = d x0 / d x_t, the denoiser's Jacobian):
//   no-Jacobian:  x_t += lr d / max|d|        x0 moves along J d
//   Newton:       x_t += lr J d / max|J d|    x0 moves along J (J d)     (official: the authors' step)
// One traced Newton run gives all three: d (step{s}.k0.d), J d by the finite difference the
// sampler already takes (step{s}.k0.g_raw = (x0(x + delta d) - x0) / delta), and Newton's actual
// move of x0 (step{s}.k0.x0 - step{s}.x0, ~ J^2 d). Each is compared with what is missing, the
// latent error e = E(truth) - x0 (E: the VAE encoder's posterior mean, as the sampler encodes):
//   cos(v, e)   the share of the error a best-length step along v can remove is cos^2
//   HF share    energy outside a 3x3 box average, per sample (0: smooth, 1: all high frequency)
// Validation images only (never the quality bench's). Usage:
//   npx tsx bench/jacobian_direction.ts [--cases deblur,superres-x4,inpaint-box] [--steps 10] [--first 440] [--n 8]
import { loadavg } from 'node:os';
import { adapterName } from '../src/gpu/device.js';
import { createNodeGpuContext } from '../src/gpu/device_node.js';
import { nodeModelSource } from '../src/pipeline/load_pipeline_node.js';
import { SdPipeline } from '../src/pipeline/sd_pipeline.js';
import { buildCase, type CaseKind } from '../src/quality/demo_cases.js';
import { loadTestSet } from '../src/quality/fmnist_data.js';
import { VALIDATION_FIRST } from '../src/quality/validation.js';
import { seededNoise } from '../src/sampler/noise.js';
import { Tracer } from '../src/sampler/tracer.js';
import { nodeModelFiles } from '../src/weights/model_source_node.js';

const args = process.argv.slice(2);
const opt = (name: string, d: string) => { const i = args.indexOf(`--${name}`); return i >= 0 && args[i + 1] ? args[i + 1]! : d; };
const MODEL = opt('model', 'weights/fmnist'), N = Number(opt('n', '8')), FIRST = Number(opt('first', '440'));
const STEPS = Number(opt('steps', '10'));
const cases = opt('cases', 'deblur,superres-x4,inpaint-box').split(',') as CaseKind[];
if (FIRST < VALIDATION_FIRST) throw new Error(`--first ${FIRST}: studies run on the validation split (images ${VALIDATION_FIRST}..), not on the quality bench's`);

/** per-sample views of a [N, C, H, W] array */
const rows = (a: Float32Array, n: number) => Array.from({ length: n }, (_, i) => a.subarray((i * a.length) / n, ((i + 1) * a.length) / n));
const dot = (a: Float32Array, b: Float32Array) => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!; return s; };
const cos = (a: Float32Array, b: Float32Array) => dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b) || 1);

/** energy outside a 3x3 box average (edges clamped), over a sample's [C, H, W] */
function hfShare(v: Float32Array, C: number, H: number, W: number): number {
  let hi = 0, all = 0;
  for (let c = 0; c < C; c++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    let s = 0;
    for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
      const yy = Math.min(H - 1, Math.max(0, y + dy)), xx = Math.min(W - 1, Math.max(0, x + dx));
      s += v[(c * H + yy) * W + xx]!;
    }
    const u = v[(c * H + y) * W + x]!, r = u - s / 9;
    hi += r * r; all += u * u;
  }
  return all > 0 ? hi / all : 0;
}

const ctx = await createNodeGpuContext();
const pipe = await SdPipeline.open(await nodeModelSource(MODEL), { ctx });
const all = await loadTestSet(nodeModelFiles(MODEL));
const S = all.size, px = 3 * S * S;
const gt = { data: all.images.slice(FIRST * px, (FIRST + N) * px), shape: [N, 3, S, S] as [number, number, number, number] };
const gtTensor = ctx.upload(gt.data, gt.shape);
const zTrueT = await pipe.models.codec.encode(ctx, gtTensor);
const [, C, H, W] = zTrueT.shape as number[];
const zTrue = rows(await ctx.read(zTrueT), N);
ctx.release(gtTensor, zTrueT);

const groups = [['early', 0, Math.floor(STEPS / 3)], ['middle', Math.floor(STEPS / 3), Math.floor((2 * STEPS) / 3)], ['late', Math.floor((2 * STEPS) / 3), STEPS]] as const;
const out = ['| case | steps (of ' + STEPS + ') | cos(d, e) | cos(J d, e) | cos(J² d, e) | HF share e | HF share d | HF share J d | HF share J² d |', '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |'];
for (const kind of cases) {
  const tc = await buildCase(ctx, kind, gt, 7000 + FIRST);
  const tracer = new Tracer(ctx, (n) => /^step\d+\.(x0|k0\.(d|g_raw|x0))$/.test(n));
  await pipe.run({ ...tc.request, steps: STEPS, noise: seededNoise(Array.from({ length: N }, (_, j) => 2 * (FIRST + j))), trace: tracer });
  for (const [label, from, to] of groups) {
    const acc = new Array<number>(7).fill(0);
    let count = 0;
    for (let s = from; s < to; s++) {
      const get = (n: string) => tracer.tensors.get(`step${s}.${n}`)?.data;
      const x0 = get('x0'), d = get('k0.d'), jd = get('k0.g_raw'), after = get('k0.x0');
      if (!x0 || !d || !jd || !after) continue;                          // a step whose inner loop did not run
      const x0s = rows(x0, N), ds = rows(d, N), jds = rows(jd, N), afters = rows(after, N);
      for (let i = 0; i < N; i++) {
        const e = zTrue[i]!.map((v, j) => v - x0s[i]![j]!);
        const j2d = afters[i]!.map((v, j) => v - x0s[i]![j]!);
        const vals = [cos(ds[i]!, e), cos(jds[i]!, e), cos(j2d, e), ...[e, ds[i]!, jds[i]!, j2d].map((v) => hfShare(v, C!, H!, W!))];
        vals.forEach((v, k) => { acc[k] += v; });
        count++;
      }
    }
    const m = acc.map((v) => (v / Math.max(1, count)).toFixed(3));
    out.push(`| ${kind} | ${label} (${from}..${to - 1}) | ${m.join(' | ')} |`);
  }
  console.error(`${kind}: traced`);
}
console.log(`\nAdapter: ${adapterName(ctx.adapter)}; ${new Date().toISOString().slice(0, 10)}; load ${loadavg()[0]!.toFixed(1)}; ${MODEL}, validation images ${FIRST}..${FIRST + N - 1}, the task table's settings at ${STEPS} steps; means over images and steps (inner step 0)\n`);
console.log(out.join('\n'));
pipe.destroy();
process.exit(0);
