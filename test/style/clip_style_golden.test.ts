// The GPU style path (tiny CLIP vision tower from the goldens, loaded through the real loader)
// against the public style goldens: per-layer intermediates, F, G, G_ref, L and dL/dimg, the
// gradient also along the goldens' finite-difference directions, the L = 0 edge case, a batch.
// Tolerances (README, "Suggested acceptance"): features and Gram 1e-4 of their scale, L 1e-5
// relative, grad max|diff| <= 1e-4 max|grad| and cosine > 0.99999 (the float64 drift is 7.5e-7).
import { beforeAll, describe, expect, test } from 'vitest';
import { ClipStyleLoss } from '../../src/clip_vision/style_loss.js';
import { loadClipVisionFromPath } from '../../src/clip_vision/load_node.js';
import type { ClipTape } from '../../src/clip_vision/clip_vision_model.js';
import type { GpuContext } from '../../src/gpu/context.js';
import { concat0 } from '../../src/kernels/tensor_ops.js';
import { getCtx, gpuTest } from '../helpers/gpu.js';
import { goldenPath } from '../helpers/golden.js';
import { dot } from './fd.js';
import { cosine, relMax, styleGolden } from './golden_helpers.js';
import { setAutoTune } from '../../src/kernels/select_variant.js';

// correctness only: no background matmul variant measurements competing for the adapter
beforeAll(() => setAutoTune(false));

let ctx: GpuContext;
let style: ClipStyleLoss;
const results: Record<string, string> = {};

beforeAll(async () => {
  ctx = await getCtx();
  const model = await loadClipVisionFromPath(ctx, goldenPath('goldens_style/clip_vision'), { numLayers: 3 });
  style = new ClipStyleLoss(model);
});

describe('style goldens (GPU, float32)', async () => {
  const inp = await styleGolden('style_inputs');
  const out = await styleGolden('style_output');
  const f64 = await styleGolden('style_f64');
  const inter = await styleGolden('style_intermediates');
  const fd = await styleGolden('style_fd');
  const shape = inp.shape('img');
  const img = await inp.f32('img'), imgRef = await inp.f32('img_ref');

  gpuTest('per-layer intermediates of img (first diverging stage named)', async () => {
    const tape: ClipTape = { layers: [] };
    const pv = style.preprocess(ctx, ctx.upload(img, shape));
    const h3 = style.model.forward(ctx, pv, 3, tape);
    const stages: [string, ReturnType<typeof ctx.upload>][] = [
      ['img.pixel_values', pv], ['img.embeddings', tape.emb!], ['img.hidden_states.0', tape.layers[0].h!],
      ['img.encoder.layers.0.self_attn.q_proj', tape.layers[0].q!], ['img.encoder.layers.0.self_attn.k_proj', tape.layers[0].k!],
      ['img.encoder.layers.0.self_attn.v_proj', tape.layers[0].v!], ['img.encoder.layers.0.attn_probs', tape.layers[0].P!],
      ['img.encoder.layers.0.mlp.fc1', tape.layers[0].f1!],
      ['img.hidden_states.1', tape.layers[1].h!], ['img.hidden_states.2', tape.layers[2].h!], ['img.hidden_states.3', h3],
    ];
    for (const [name, t] of stages) {
      const e = relMax(await ctx.read(t), await inter.f32(name));
      results[name] = e.toExponential(2);
      expect(e, name).toBeLessThan(1e-5);
    }
    style.model.releaseTape(ctx, tape);
    ctx.release(pv, h3);
  });

  gpuTest('F, G, G_ref, L and dL/dimg', async () => {
    const gRef = style.gram(ctx, ctx.upload(imgRef, shape));
    const r = style.lossAndGrad(ctx, ctx.upload(img, shape), gRef, { features: true, gram: true });
    const [G, GR, L, grad, H] = await Promise.all([r.gram!, gRef, r.loss, r.grad, r.features!].map((t) => ctx.read(t)));
    const F = H.subarray(64); // CLS row dropped (N = 1, D = 64)
    const check = async (name: string, got: ArrayLike<number>, tol: number) => {
      const e32 = relMax(got, await out.f32(name)), e64 = relMax(got, await f64.f64(name));
      results[name] = `vs f32 ${e32.toExponential(2)}, vs f64 ${e64.toExponential(2)}`;
      expect(e64, name).toBeLessThan(tol);
      expect(e32, name).toBeLessThan(tol);
    };
    await check('F', F, 1e-4);
    await check('G', G, 1e-4);
    await check('G_ref', GR, 1e-4);
    const L64 = await f64.scalar('L');
    results.L = `${L[0]} (f64 ${L64}, rel ${(Math.abs(L[0] - L64) / L64).toExponential(2)})`;
    expect(Math.abs(L[0] - L64) / L64).toBeLessThan(1e-5);
    await check('grad', grad, 1e-4);
    const cos = cosine(grad, await f64.f64('grad'));
    results.grad_cosine = cos.toFixed(9);
    expect(cos).toBeGreaterThan(0.99999);
    // directional derivatives along the goldens' random directions (their float64 autograd values,
    // which their float64 central differences confirm to <= 3.4e-9)
    const dd64 = await fd.f64('dd_autograd_f64');
    for (let k = 0; k < 3; k++) {
      const v = await fd.f32(`v${k}`);
      const rel = Math.abs(dot(grad, v) - dd64[k]) / Math.sqrt(dot(grad, grad) * dot(v, v));
      results[`dd_v${k}`] = `${dot(grad, v).toPrecision(10)} vs ${dd64[k].toPrecision(10)} (err/|g||v| ${rel.toExponential(2)})`;
      expect(rel).toBeLessThan(1e-6);
    }
    ctx.release(gRef, r.loss, r.grad, r.gram, r.features);
  });

  gpuTest('L = 0 (img = img_ref): loss 0 and an all-zero gradient; batch of two with a shared G_ref', async () => {
    const ref = ctx.upload(imgRef, shape), x = ctx.upload(img, shape);
    const gRef = style.gram(ctx, ref);
    const pair = concat0(ctx, [x, ref]);
    const r = style.lossAndGrad(ctx, pair, gRef);
    const L = await ctx.read(r.loss), grad = await ctx.read(r.grad);
    const n = img.length;
    expect(L[1]).toBe(0);
    expect(grad.subarray(n).every((g) => g === 0)).toBe(true);
    expect(Math.abs(L[0] - (await f64.scalar('L'))) / L[0]).toBeLessThan(1e-5);
    expect(relMax(grad.subarray(0, n), await f64.f64('grad'))).toBeLessThan(1e-4);
    ctx.release(ref, x, gRef, pair, r.loss, r.grad);
  });

  test('report', () => { console.log(JSON.stringify(results, null, 1)); });
});
