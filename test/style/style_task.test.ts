// Style guidance through runTask (src/pipeline/tasks.ts + style_task.ts) with stub models: an
// identity "VAE" (latent = image, factor 1) and a noise model that predicts eps = 0 (so
// x0 = x / sqrt(ab) and J = I / sqrt(ab)). With the golden tiny CLIP, style guidance must end at a
// lower style loss than the same seed without guidance; inpaint + style must combine.
import { beforeAll, expect } from 'vitest';
import { loadClipVisionFromPath } from '../../src/clip_vision/load_node.js';
import { ClipStyleLoss } from '../../src/clip_vision/style_loss.js';
import type { GpuContext } from '../../src/gpu/context.js';
import type { GpuTensor } from '../../src/gpu/tensor.js';
import { scale } from '../../src/kernels/elementwise.js';
import { STYLE_SETTINGS, withStyle } from '../../src/pipeline/style_task.js';
import { runTask, type TaskModels, type TaskRequest } from '../../src/pipeline/tasks.js';
import { DEFAULT_SETTINGS } from '../../src/sampler/constrained_sampler.js';
import { CombinedConstraint } from '../../src/sampler/constraints/combined.js';
import { seededNoise } from '../../src/sampler/noise.js';
import { getCtx, gpuTest } from '../helpers/gpu.js';
import { goldenPath } from '../helpers/golden.js';
import { styleGolden } from './golden_helpers.js';
import { setAutoTune } from '../../src/kernels/select_variant.js';

// correctness only: no background matmul variant measurements competing for the adapter
beforeAll(() => setAutoTune(false));

let ctx: GpuContext;
let loss: ClipStyleLoss;
let models: TaskModels;
beforeAll(async () => {
  ctx = await getCtx();
  loss = new ClipStyleLoss(await loadClipVisionFromPath(ctx, goldenPath('goldens_style/clip_vision')));
  models = {
    codec: {
      scalingFactor: 1, factor: 1,
      decode: async (c: GpuContext, z: GpuTensor) => scale(c, z, 1),
      encode: async (c: GpuContext, img: GpuTensor) => scale(c, img, 1),
    },
    latentChannels: 3,
    noiseModel: async (x: GpuTensor) => scale(ctx, x, 0),
    encodePrompts: async (c: GpuContext, prompts: string[]) => c.upload(new Float32Array(prompts.length * 77 * 8), [prompts.length, 77, 8]),
  };
});

async function styleLossOf(img: Float32Array, shape: number[], ref: GpuTensor): Promise<number> {
  const g = loss.gram(ctx, ref);
  const l = loss.loss(ctx, ctx.upload(img, shape), g);
  const [v] = await ctx.read(l);
  ctx.release(g, l);
  return v;
}

gpuTest('generate + style lowers the style loss of the result (same seed, 4 steps, K = 2)', async () => {
  const inp = await styleGolden('style_inputs');
  const refImg = { data: await inp.f32('img_ref'), shape: inp.shape('img_ref') as [number, number, number, number] };
  const base: TaskRequest = {
    task: 'generate', width: 64, height: 64, noise: seededNoise([7]), guidance: null,
    settings: { ...DEFAULT_SETTINGS, steps: 4, method: 'none' },
  };
  const plain = await runTask(ctx, models, base);
  const styled = await runTask(ctx, models, {
    ...base, noise: seededNoise([7]), settings: { ...DEFAULT_SETTINGS, ...STYLE_SETTINGS, steps: 4, K: 2 },
    style: { loss, image: refImg },
  });
  expect(styled.evals).toBe(4 * (1 + 2 * 2));
  const ref = ctx.upload(refImg.data, refImg.shape);
  const L0 = await styleLossOf(plain.image.data, plain.image.shape, ref);
  const L1 = await styleLossOf(styled.image.data, styled.image.shape, ref);
  console.log(`style loss of the result: without guidance ${L0.toFixed(2)}, with style guidance ${L1.toFixed(2)}`);
  expect(L1).toBeLessThan(0.9 * L0);
  ctx.release(ref);
});

gpuTest('inpaint + style: the task constraint and the style constraint are combined', async () => {
  const img = { data: new Float32Array(3 * 64 * 64).fill(0.2), shape: [1, 3, 64, 64] as [number, number, number, number] };
  const req: TaskRequest = {
    task: 'inpaint', image: img, noise: seededNoise([1]), settings: { ...DEFAULT_SETTINGS }, style: { loss, image: img, weight: 0.5 },
  };
  const { InpaintConstraint } = await import('../../src/sampler/constraints/inpaint.js');
  const inpaint = new InpaintConstraint(ctx.upload(img.data, img.shape), ctx.upload(new Float32Array(img.data.length).fill(1), img.shape));
  const c = await withStyle(ctx, models, req, inpaint);
  expect(c).toBeInstanceOf(CombinedConstraint);
  expect(c!.name).toBe('inpaint+style');
  expect((c as CombinedConstraint).parts.map((p) => p.weight)).toEqual([1, 0.5]);
  expect(await withStyle(ctx, models, { ...req, style: undefined }, inpaint)).toBe(inpaint);
  await expect(withStyle(ctx, models, { ...req, style: { loss, image: img, weight: -1 } }, undefined)).rejects.toThrow(/positive/);
  c!.destroy?.(ctx);
});
