// The decoder pull-back (issue 13, ours): with pullBack 'decoder' a pixel-space constraint's
// Newton direction is its exact latent gradient D^T A^T (y - A(D(x0))), the one 'dps' uses, while
// the UNet's J is still taken forward-only. Checked through the task API on the golden tiny model:
// the traced first direction of a super-resolution run equals the gradient computed independently
// at the traced x0 (and that gradient, which decodes once, the decode-then-VJP one), the encoder's finite-difference pull-back is another vector, and the request
// rules refuse the option where there is no pixel-space constraint.
import { beforeAll, describe, expect } from 'vitest';
import type { GpuContext } from '../../src/gpu/context.js';
import { loadPipelineFromPath } from '../../src/pipeline/load_pipeline_node.js';
import { taskModels } from '../../src/pipeline/sd_pipeline.js';
import { validateRequest } from '../../src/pipeline/task_registry.js';
import { runTask, type TaskModels } from '../../src/pipeline/tasks.js';
import { PixelLinearConstraint, type PullBackVia } from '../../src/sampler/constraints/pixel_linear.js';
import { downscaleOperator } from '../../src/sampler/constraints/pixel_operators.js';
import { seededNoise } from '../../src/sampler/noise.js';
import { Tracer } from '../../src/sampler/tracer.js';
import { scale } from '../../src/kernels/elementwise.js';
import type { AutoencoderKL } from '../../src/vae/autoencoder_kl.js';
import { decoderVjp } from '../../src/vae/vjp/index.js';
import { Rng } from '../../src/util/rng.js';
import { getCtx, gpuTest } from '../helpers/gpu.js';
import { GOLDEN_DIR } from '../helpers/golden.js';

let ctx: GpuContext, models: TaskModels, vae: AutoencoderKL;
beforeAll(async () => {
  ctx = await getCtx();
  const sd = await loadPipelineFromPath(ctx, GOLDEN_DIR, { weightDtype: 'f32' });
  models = taskModels(ctx, sd);
  vae = sd.vae!;
});

const cosine = (a: Float32Array, b: Float32Array) => {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) { ab += a[i]! * b[i]!; aa += a[i]! * a[i]!; bb += b[i]! * b[i]!; }
  return ab / Math.sqrt(aa * bb);
};

describe('pull-back through the decoder', () => {
  gpuTest("superres with pullBack 'decoder': Newton's first direction is D^T A^T (y - A(D(x0)))", async () => {
    const S = 8 * models.codec.factor, lo = S / 4;                     // a 4x super-resolution of the golden model's native size
    const y = { data: new Rng(3).normals(3 * lo * lo).map((v) => Math.tanh(v)), shape: [1, 3, lo, lo] as [number, number, number, number] };
    const run = async (pullBack: PullBackVia) => {
      const trace = new Tracer(ctx, (k) => k === 'step0.x0' || k === 'step0.k0.d');
      await runTask(ctx, models, {
        task: 'superres', image: y, scale: 4, downscaleKernel: 'bicubic', keepKnown: false, pullBack, trace, noise: seededNoise([11]),
        settings: { steps: 2, K: 1, lr: 0.1, h: 0.005, schedule: 'exact', method: 'newton' },
      });
      return { x0: trace.tensors.get('step0.x0')!, d: trace.tensors.get('step0.k0.d')!.data };
    };
    const dec = await run('decoder'), enc = await run('encoder');
    // the same x0 (the first evaluation precedes any direction), so both directions are of one state
    expect(Array.from(dec.x0.data)).toEqual(Array.from(enc.x0.data));
    const c = new PixelLinearConstraint('check', downscaleOperator(ctx, S, S, 4, 'bicubic'), ctx.upload(y.data, y.shape), models.codec, 0.005);
    const x0 = ctx.upload(dec.x0.data, dec.x0.shape);
    const g = await ctx.read(await c.gradient!(ctx, x0));
    // the gradient decodes x0 once (the VJP's tape gives the image r is computed from): the same
    // vector as decoding, then running the VJP with its own tape (decoderVjp), to float rounding
    const sf = models.codec.scalingFactor, zs = scale(ctx, x0, 1 / sf);
    const r = c.pixelResidual(ctx, await models.codec.decode(ctx, x0));
    const twice = await ctx.read(scale(ctx, decoderVjp(ctx, vae, zs, r), 1 / sf));
    c.destroy(ctx);
    let dTwice = 0, mTwice = 0;
    for (let i = 0; i < g.length; i++) { dTwice = Math.max(dTwice, Math.abs(g[i]! - twice[i]!)); mTwice = Math.max(mTwice, Math.abs(twice[i]!)); }
    expect(dTwice / mTwice, `one decode vs two: max |diff| / max = ${(dTwice / mTwice).toExponential(2)}`).toBeLessThan(1e-5);
    let err = 0, mag = 0;
    for (let i = 0; i < g.length; i++) { err = Math.max(err, Math.abs(g[i]! - dec.d[i]!)); mag = Math.max(mag, Math.abs(g[i]!)); }
    expect(mag).toBeGreaterThan(0);
    expect(err / mag, `max |d - D^T r| / max |D^T r| = ${(err / mag).toExponential(2)}`).toBeLessThan(1e-5);
    // the default stays the encoder's: a different vector (on the golden model's random VAE the
    // encoder does not invert the decoder, so the two are not even close: no alignment is asserted)
    const cos = cosine(enc.d, g);
    console.log(`golden superres x4: cos(encoder pull-back, decoder pull-back) = ${cos.toFixed(3)}`);
    expect(Math.abs(cos)).toBeLessThan(0.9999);
  });

  gpuTest("the request rules: 'decoder' and 'encoder' only, and only for a pixel-space constraint", async () => {
    const img = (n: number, c: number, h: number, w: number) => ({ shape: [n, c, h, w] });
    const fields = (r: Parameters<typeof validateRequest>[0]) => validateRequest(r, { factor: 4 }).map((p) => p.field);
    expect(fields({ task: 'superres', image: img(1, 3, 8, 8), pullBack: 'decoder' })).toEqual([]);
    expect(fields({ task: 'deblur', image: img(1, 3, 32, 32), pullBack: 'encoder' })).toEqual([]);
    expect(fields({ task: 'inpaint', image: img(1, 3, 32, 32), mask: img(1, 1, 32, 32), inpaintSpace: 'pixel', pullBack: 'decoder' })).toEqual([]);
    expect(fields({ task: 'inpaint', image: img(1, 3, 32, 32), mask: img(1, 1, 32, 32), pullBack: 'decoder' })).toEqual(['pullBack']);
    expect(fields({ task: 'generate', pullBack: 'decoder' })).toEqual(['pullBack']);
    expect(fields({ task: 'superres', image: img(1, 3, 8, 8), pullBack: 'sideways' as never })).toEqual(['pullBack']);
  });
});
