// PSNR of decode(x0) against the truth after every diffusion step (issue 13: where do more steps
// lose?), on validation images (never the quality bench's held-out ones), for given settings.
//   npx tsx bench/trajectory.ts [--case superres-x4] [--steps 10,20] [--first 440] [--n 8] [--set '{"K":3,"lr":0.1667}']
//     [--scale 4] [--sigma 1.5]   (the operator's strength: super-resolution factor, deblurring's blur sigma)
// --set: request fields over the task table's defaults (K, lr, schedule, lrStride, ...). Prints one
// line per step count: the result's PSNR as returned and raw (before the projection / keeping the
// known pixels), then t:PSNR of each step's x0 (clipped to [-1, 1]).
import { createNodeGpuContext } from '../src/gpu/device_node.js';
import { nodeModelSource } from '../src/pipeline/load_pipeline_node.js';
import { SdPipeline } from '../src/pipeline/sd_pipeline.js';
import { buildCase, type CaseKind } from '../src/quality/demo_cases.js';
import { loadTestSet } from '../src/quality/fmnist_data.js';
import { meanPsnr, VALIDATION_FIRST } from '../src/quality/validation.js';
import { seededNoise } from '../src/sampler/noise.js';
import { nodeModelFiles } from '../src/weights/model_source_node.js';

const args = process.argv.slice(2);
const opt = (name: string, d: string) => { const i = args.indexOf(`--${name}`); return i >= 0 && args[i + 1] ? args[i + 1]! : d; };
const MODEL = opt('model', 'weights/fmnist'), N = Number(opt('n', '8')), FIRST = Number(opt('first', '440'));
const kind = opt('case', 'superres-x4') as CaseKind;
const stepsList = opt('steps', '10,20').split(',').map(Number);
const set = JSON.parse(opt('set', '{}')) as Record<string, unknown>;
if (FIRST < VALIDATION_FIRST) throw new Error(`--first ${FIRST}: settings are studied on the validation split (images ${VALIDATION_FIRST}..), not on the quality bench's`);

const ctx = await createNodeGpuContext();
const pipe = await SdPipeline.open(await nodeModelSource(MODEL), { ctx });
const all = await loadTestSet(nodeModelFiles(MODEL));
const S = all.size, px = 3 * S * S;
const gt = { data: all.images.slice(FIRST * px, (FIRST + N) * px), shape: [N, 3, S, S] as [number, number, number, number] };
const strength = { scale: args.includes('--scale') ? Number(opt('scale', '4')) : undefined, blurSigma: args.includes('--sigma') ? Number(opt('sigma', '1.5')) : undefined };
const tc = await buildCase(ctx, kind, gt, 7000 + FIRST, strength);
for (const steps of stepsList) {
  const curve: string[] = [];
  const r = await pipe.run({ ...tc.request, steps, noise: seededNoise(Array.from({ length: N }, (_, j) => 2 * (FIRST + j))), ...set }, {
    onProgress: async (p) => {
      const img = await pipe.models.codec.decode(ctx, p.x0);
      const d = (await ctx.read(img)).map((v) => Math.max(-1, Math.min(1, v)));
      ctx.release(img);
      curve.push(`${p.t}:${meanPsnr(d, gt.data, N, S).toFixed(2)}`);
    },
  });
  const raw = r.rawImages ?? r.images;
  console.log(`${kind}${strength.scale ? ` x${strength.scale}` : ''}${strength.blurSigma ? ` sigma ${strength.blurSigma}` : ''} images ${FIRST}..${FIRST + N - 1} steps ${steps} ${JSON.stringify(set)}: PSNR ${meanPsnr(r.images.data, gt.data, N, S).toFixed(2)} raw ${meanPsnr(raw.data, gt.data, N, S).toFixed(2)} evals/image ${(r.evals / N).toFixed(0)} | ${curve.join(' ')}`);
}
pipe.destroy();
