// Slow (TETHER_SLOW=1): the style path at the real openai/clip-vit-base-patch16 size (224 px, 197
// tokens, width 768, 12 heads; 3 of 12 layers; synthetic weights with the real key names), from a
// 512 x 512 image (SD's size, a non-integer 512 -> 224 resize): loads through the real key
// selection with every kept key consumed, and L and dL/dimg match the float64 CPU reference.
import { beforeAll, describe, expect } from 'vitest';
import { ClipVisionModel } from '../../src/clip_vision/clip_vision_model.js';
import { CLIP_VIT_B16 } from '../../src/clip_vision/config.js';
import { ClipStyleLoss } from '../../src/clip_vision/style_loss.js';
import { clipVisionWeights } from '../../src/clip_vision/weights.js';
import { gpuTest } from '../helpers/gpu.js';
import { randu } from '../helpers/numeric.js';
import { styleGramRef, styleLossRef, type RefConfig } from './clip_ref.js';
import { vitB16SyntheticClip } from './clip_synthetic.js';
import { cosine, relMax } from './golden_helpers.js';
import { setAutoTune } from '../../src/kernels/select_variant.js';

// correctness only: no background matmul variant measurements competing for the adapter
beforeAll(() => setAutoTune(false));

describe.skipIf(!process.env.TETHER_SLOW)('ViT-B/16-sized style loss (synthetic weights, TETHER_SLOW=1)', () => {
  gpuTest('L and dL/dimg of a 512x512 image vs the float64 reference', async (ctx) => {
    const syn = await vitB16SyntheticClip(3);
    const model = await ClipVisionModel.load(ctx, clipVisionWeights([syn.file], 3), CLIP_VIT_B16, 3, { weightDtype: 'f32' });
    const loss = new ClipStyleLoss(model);
    const shape = [1, 3, 512, 512];
    const img = randu(3 * 512 * 512, 11), ref = randu(3 * 512 * 512, 12);
    const t0 = performance.now();
    const gRef = loss.gram(ctx, ctx.upload(ref, shape));
    const r = loss.lossAndGrad(ctx, ctx.upload(img, shape), gRef);
    const [L] = await ctx.read(r.loss);
    const grad = await ctx.read(r.grad);
    const tGpu = performance.now() - t0;
    const cfg: RefConfig = { hidden: 768, heads: 12, inter: 3072, imageSize: 224, patch: 16, eps: 1e-5 };
    const w = (k: string) => { const v = syn.tensors.get(k); if (!v) throw new Error(k); return v; };
    const t1 = performance.now();
    const want = styleLossRef(img, shape, styleGramRef(ref, shape, cfg, w), cfg, w);
    const tCpu = performance.now() - t1;
    const eGrad = relMax(grad, want.grad), cos = cosine(grad, want.grad);
    console.log(`ViT-B/16 size: L ${L} vs ${want.L[0]} (rel ${(Math.abs(L - want.L[0]) / want.L[0]).toExponential(2)}), ` +
      `grad max err / max ${eGrad.toExponential(2)}, cosine ${cos.toFixed(9)}; GPU ${(tGpu / 1e3).toFixed(1)} s, CPU float64 ${(tCpu / 1e3).toFixed(1)} s`);
    expect(Math.abs(L - want.L[0]) / want.L[0]).toBeLessThan(1e-5);
    expect(eGrad).toBeLessThan(1e-4);
    expect(cos).toBeGreaterThan(0.99999);
    ctx.release(gRef, r.loss, r.grad);
    loss.destroy(ctx); model.destroy(ctx);
  }, 1_800_000);
});
