// The pixel-space observation operators: each adjoint is the exact transpose of its forward
// (<A x, y> = <x, A^T y> in float64 over the GPU's f32 results), the mask operator equals M * img,
// and inpainting through the pixel-space constraint (--inpaint-space pixel) on the embedded model
// holds the known pixels far closer than the latent constraint does at the same settings.
import { beforeAll, describe, expect } from 'vitest';
import type { GpuContext } from '../../src/gpu/context.js';
import { setAutoTune } from '../../src/kernels/select_variant.js';
import { loadPipelineFromPath } from '../../src/pipeline/load_pipeline_node.js';
import { taskModels } from '../../src/pipeline/sd_pipeline.js';
import { runTask, type ImageData4, type InpaintSpace } from '../../src/pipeline/tasks.js';
import { freeFormMask } from '../../src/quality/masks.js';
import { loadTestSet } from '../../src/quality/fmnist_data.js';
import type { Method } from '../../src/sampler/types.js';
import {
  blurOperator, downscaleOperator, greyOperator, MaskOperator, type PixelOperator,
} from '../../src/sampler/constraints/pixel_operators.js';
import { seededNoise } from '../../src/sampler/noise.js';
import { Rng } from '../../src/util/rng.js';
import { nodeModelFiles } from '../../src/weights/model_source_node.js';
import { gpuTest } from '../helpers/gpu.js';

beforeAll(() => setAutoTune(false));

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

async function adjointGap(ctx: GpuContext, op: PixelOperator, shape: [number, number, number, number]): Promise<{ lhs: number; gap: number }> {
  const rng = new Rng(5);
  const x = ctx.upload(rng.normals(shape.reduce((a, b) => a * b, 1)), shape);
  const ax = op.forward(ctx, x);
  const y = ctx.upload(rng.normals(ax.size), ax.shape);
  const aty = op.adjoint(ctx, y);
  expect([...aty.shape]).toEqual(shape);
  const [xs, axs, ys, atys] = [await ctx.read(x), await ctx.read(ax), await ctx.read(y), await ctx.read(aty)];
  ctx.release(x, ax, y, aty);
  const lhs = dot(axs, ys), rhs = dot(xs, atys);
  // relative to the sum of |terms|: f32 products summed in another order
  let scale = 0;
  for (let i = 0; i < axs.length; i++) scale += Math.abs(axs[i]! * ys[i]!);
  return { lhs, gap: Math.abs(lhs - rhs) / scale };
}

describe('pixel operators', () => {
  gpuTest('every adjoint is the transpose of its forward', async (ctx) => {
    const mask = new Float32Array(2 * 3 * 24 * 20).map((_, i) => ((i * 7919) % 5 < 3 ? 1 : 0));
    const ops: [string, PixelOperator, [number, number, number, number]][] = [
      ['bicubic x4', downscaleOperator(ctx, 24, 20, 4, 'bicubic'), [2, 3, 24, 20]],
      ['box x4', downscaleOperator(ctx, 24, 20, 4, 'box'), [2, 3, 24, 20]],
      ['blur 1.5', blurOperator(ctx, 24, 20, 1.5), [2, 3, 24, 20]],
      ['grey', greyOperator(ctx), [2, 3, 24, 20]],
      ['mask', new MaskOperator(ctx.upload(mask, [2, 3, 24, 20])), [2, 3, 24, 20]],
    ];
    for (const [name, op, shape] of ops) {
      const { lhs, gap } = await adjointGap(ctx, op, shape);
      console.log(`${name}: <Ax, y> = ${lhs.toFixed(4)}, relative gap to <x, A^T y> ${gap.toExponential(1)}`);
      expect(gap, name).toBeLessThan(1e-6);
      op.destroy?.(ctx);
    }
  });

  gpuTest('the mask operator is M * img', async (ctx) => {
    const rng = new Rng(9);
    const img = rng.normals(2 * 3 * 4 * 4), m = new Float32Array(img.length).map((_, i) => (i % 3 === 0 ? 0 : 1));
    const op = new MaskOperator(ctx.upload(m, [2, 3, 4, 4]));
    const x = ctx.upload(img, [2, 3, 4, 4]);
    const y = op.forward(ctx, x);
    expect(Array.from(await ctx.read(y))).toEqual(Array.from(img.map((v, i) => v * m[i]!)));
    ctx.release(x, y);
    op.destroy(ctx);
  });
});

describe('inpainting in pixel space (embedded model)', () => {
  gpuTest('holds the known pixels closer than the latent constraint, and refuses the replace baseline', async (ctx) => {
    const sd = await loadPipelineFromPath(ctx, 'weights/fmnist', { weightDtype: 'f32' });
    try {
      const models = taskModels(ctx, sd);
      const N = 2, test = await loadTestSet(nodeModelFiles('weights/fmnist'), N), S = test.size;
      const mask = new Float32Array(N * S * S);
      for (let n = 0; n < N; n++) mask.set(freeFormMask(S, S, 40 + n), n * S * S);
      const image: ImageData4 = { data: test.images, shape: [N, 3, S, S] };
      const run = async (space: InpaintSpace, method: Method) => {
        const r = await runTask(ctx, models, {
          task: 'inpaint', image, mask: { data: mask, shape: [N, 1, S, S] }, inpaintSpace: space,
          settings: { steps: 10, K: 5, lr: [0.5, 0.1], h: 0.005, schedule: 'exact', method },
          noise: seededNoise([0, 2]),
          keepKnown: false,   // the sampler's own result: pasting the known pixels back would hide it
        });
        let se = 0, n = 0;
        for (let i = 0; i < N; i++) for (let c = 0; c < 3; c++) for (let p = 0; p < S * S; p++) {
          if (!mask[i * S * S + p]) continue;
          const k = (i * 3 + c) * S * S + p;
          expect(Number.isFinite(r.image.data[k]!)).toBe(true);
          se += ((r.image.data[k]! - test.images[k]!) / 2) ** 2; n++;
        }
        return Math.sqrt(se / n);
      };
      const pixel = await run('pixel', 'newton'), latent = await run('latent', 'newton'), free = await run('latent', 'none');
      console.log(`known-pixel RMS ([0,1] units), 10 steps K 5: pixel ${pixel.toFixed(4)}, latent ${latent.toFixed(4)}, unconstrained ${free.toFixed(4)}`);
      expect(pixel).toBeLessThan(0.75 * latent);
      expect(latent).toBeLessThan(free);
      await expect(run('pixel', 'replace')).rejects.toThrow(/method 'replace' needs known latent cells .*latent-space inpainting.*'inpaint-pixel' has none/);
    } finally {
      sd.destroy(ctx);
    }
  }, 300_000);
});

