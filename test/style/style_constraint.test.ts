// The style constraint and the combination of constraints, on the golden tiny CLIP. An identity
// "VAE" (decode = encode = copy) makes the encoder pull-back exact up to float32 rounding, so the
// latent direction must equal -dL/dimg; a small step along it must lower L; L = 0 must give d = 0.
import { beforeAll, describe, expect } from 'vitest';
import { loadClipVisionFromPath } from '../../src/clip_vision/load_node.js';
import { ClipStyleLoss } from '../../src/clip_vision/style_loss.js';
import type { GpuContext } from '../../src/gpu/context.js';
import type { GpuTensor } from '../../src/gpu/tensor.js';
import { scale } from '../../src/kernels/elementwise.js';
import { concat0 } from '../../src/kernels/tensor_ops.js';
import { CombinedConstraint } from '../../src/sampler/constraints/combined.js';
import { InpaintConstraint } from '../../src/sampler/constraints/inpaint.js';
import type { LatentCodec } from '../../src/sampler/constraints/latent_codec.js';
import { StyleConstraint } from '../../src/sampler/constraints/style.js';
import { getCtx, gpuTest } from '../helpers/gpu.js';
import { goldenPath } from '../helpers/golden.js';
import { expectClose, randn } from '../helpers/numeric.js';
import { relMax, styleGolden } from './golden_helpers.js';
import { setAutoTune } from '../../src/kernels/select_variant.js';

// correctness only: no background matmul variant measurements competing for the adapter
beforeAll(() => setAutoTune(false));

const identityCodec: LatentCodec = {
  scalingFactor: 1, factor: 1,
  decode: async (c: GpuContext, z: GpuTensor) => scale(c, z, 1),
  encode: async (c: GpuContext, img: GpuTensor) => scale(c, img, 1),
};

let ctx: GpuContext;
let loss: ClipStyleLoss;
beforeAll(async () => {
  ctx = await getCtx();
  loss = new ClipStyleLoss(await loadClipVisionFromPath(ctx, goldenPath('goldens_style/clip_vision')));
});

const maxAbs = (a: ArrayLike<number>) => { let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i])); return m; };

describe('style constraint', async () => {
  const inp = await styleGolden('style_inputs');
  const f64 = await styleGolden('style_f64');
  const shape = inp.shape('img');
  const img = await inp.f32('img'), imgRef = await inp.f32('img_ref');
  const n = img.length;

  gpuTest('direction = pull-back of -dL/dimg (exact for an identity codec); a step along it lowers L', async () => {
    const c = StyleConstraint.fromImage(ctx, loss, ctx.upload(imgRef, shape), identityCodec);
    const x0 = ctx.upload(img, shape);
    const d = await ctx.read(await c.direction(ctx, x0));
    const minusGrad = Float64Array.from(await f64.f64('grad'), (g) => -g);
    expect(relMax(d, minusGrad)).toBeLessThan(1e-4);
    const [L0] = await c.residual(ctx, x0);
    const eps = 0.01 / maxAbs(d);
    const [L1] = await c.residual(ctx, ctx.upload(img.map((v, i) => v + eps * d[i]), shape));
    expect(L1).toBeLessThan(L0);
    // first order: L1 - L0 ~ -eps |grad|^2
    let g2 = 0;
    for (const g of minusGrad) g2 += g * g;
    expect((L0 - L1) / (eps * g2)).toBeGreaterThan(0.9);
    expect((L0 - L1) / (eps * g2)).toBeLessThan(1.1);
    c.destroy(ctx);
  });

  gpuTest('L = 0 gives d = 0 (no NaN); a batch of two shares G_ref', async () => {
    const c = StyleConstraint.fromImage(ctx, loss, ctx.upload(imgRef, shape), identityCodec);
    const pair = concat0(ctx, [ctx.upload(img, shape), ctx.upload(imgRef, shape)]);
    const d = await ctx.read(await c.direction(ctx, pair));
    expect(d.subarray(n).every((v) => v === 0)).toBe(true);
    expect(relMax(d.subarray(0, n), Float64Array.from(await f64.f64('grad'), (g) => -g))).toBeLessThan(1e-4);
    const L = await c.residual(ctx, pair);
    expect(L[1]).toBe(0);
    c.destroy(ctx);
  });

  gpuTest('combined (inpaint + style): sum of the directions, each normalised by its own max per sample', async () => {
    const zY = randn(n, 5), mask = new Float32Array(n).map((_, i) => (i % 128 < 64 ? 1 : 0));
    const inpaint = new InpaintConstraint(ctx.upload(zY, shape), ctx.upload(mask, shape));
    const style = StyleConstraint.fromImage(ctx, loss, ctx.upload(imgRef, shape), identityCodec);
    const comb = new CombinedConstraint([{ constraint: inpaint }, { constraint: style, weight: 0.5 }]);
    expect(comb.name).toBe('inpaint+style');
    expect(comb.replaceKnown).toBeDefined();
    const x0 = ctx.upload(img, shape);
    const d = await ctx.read(await comb.direction(ctx, x0));
    const dIn = await ctx.read(await inpaint.direction(ctx, x0));
    const dSt = await ctx.read(await style.direction(ctx, x0));
    const mi = maxAbs(dIn), ms = maxAbs(dSt);
    expectClose(d, dIn.map((v, i) => v / mi + 0.5 * dSt[i] / ms), { atol: 1e-6, rtol: 1e-5 });
    const res = await comb.residuals(ctx, x0);
    expect(Object.keys(res)).toEqual(['style1']);
    comb.destroy(ctx);
  });
});
