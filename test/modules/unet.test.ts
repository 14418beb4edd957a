// UNet2DConditionModel against the diffusers goldens of the tiny SD-1.4-topology UNet
// (../shared/golden): noise_pred, every intermediate (named like diffusers' module paths), the
// pipeline's CFG batches, both loaders (diffusers folder, CompVis single file), f32 and f16 weights.
import { beforeAll, describe, expect } from 'vitest';
import { setAutoTune } from '../../src/kernels/select_variant.js';
import type { GpuContext } from '../../src/gpu/context.js';
import type { GpuTensor } from '../../src/gpu/tensor.js';
import { FeedForward } from '../../src/unet/feed_forward.js';
import { UNet2DConditionModel } from '../../src/unet/unet_2d_condition.js';
import { openGolden } from '../helpers/golden.js';
import { gpuTest } from '../helpers/gpu.js';
import { compare, expectClose, F16_TOL, F32_TOL, randn, type Tolerance } from '../helpers/numeric.js';
import { goldenUNetConfig, goldenUNetWeights, loadGoldenUNet, rows, runUNet, type UNetInputs } from './unet_helpers.js';

// provisional kernel variants only: no background measurements competing with the forwards
beforeAll(() => setAutoTune(false));

async function goldenInputs(): Promise<UNetInputs> {
  const g = await openGolden('goldens/unet_inputs.safetensors');
  return {
    sample: await g.f32('sample'), sampleShape: g.shape('sample'),
    timesteps: await g.i64('timesteps'),
    ehs: await g.f32('encoder_hidden_states'), ehsShape: g.shape('encoder_hidden_states'),
  };
}

async function goldenOutput(): Promise<Float32Array> {
  return (await openGolden('goldens/unet_output.safetensors')).f32('noise_pred');
}

/**
 * Runs the golden inputs with a capture hook and compares every golden intermediate in execution
 * order; `first` is the first module outside F32_TOL (scaled by that tensor's magnitude).
 */
async function compareIntermediates(ctx: GpuContext, unet: UNet2DConditionModel) {
  const g = await openGolden('goldens/unet_intermediates.safetensors');
  const order = JSON.parse(g.file.metadata['execution_order']!) as string[];
  const captured = new Map<string, GpuTensor>();
  await runUNet(ctx, unet, await goldenInputs(), (name, t) => {
    expect(captured.has(name), `captured twice: ${name}`).toBe(false);
    captured.set(name, t);
  });
  const lines: string[] = [];
  let first: string | null = null;
  let worst = 0;
  for (const name of order) {
    const t = captured.get(name);
    if (!t) { lines.push(`${name}: NOT CAPTURED`); first ??= `${name} (not captured)`; continue; }
    expect(t.shape, name).toEqual(g.shape(name));
    const want = await g.f32(name);
    const r = compare(await ctx.read(t), want, F32_TOL);
    worst = Math.max(worst, r.maxDiff / want.reduce((m, v) => Math.max(m, Math.abs(v)), 1e-30));
    lines.push(`${r.ok ? 'ok  ' : 'FAIL'} ${name}: ${r.report}`);
    if (!r.ok) first ??= name;
    ctx.release(t);
    captured.delete(name);
  }
  // the goldens record sub-module internals only for some blocks; every other tapped name must
  // end like a golden name does (the same module kinds)
  const leaf = (n: string) => n.replace(/^.*?((resnets|attentions|transformer_blocks|downsamplers|upsamplers)\.\d+)/, '$1')
    .replace(/\d+/g, '#');
  const kinds = new Set(order.map(leaf));
  const strays = [...captured.keys()].filter((n) => !kinds.has(leaf(n)));
  for (const t of captured.values()) ctx.release(t);
  return { first, lines, worst, strays, compared: order.length, extra: captured.size };
}

// lavapipe on a shared CPU: a forward can take tens of seconds, kernel autotuning more on first use
const T = 900_000;

// f16 weights: 5e-3 of the output scale (weights rounded to f16 perturb every layer by ~2^-11)
const F16_WEIGHT_TOL: Tolerance = { atol: 5e-3, rtol: 5e-3, maxNmse: 1e-5 };

describe('UNet2DConditionModel golden (tiny SD 1.4 topology)', () => {
  for (const source of ['folder', 'single_file'] as const) {
    gpuTest(`noise_pred, f32 weights, ${source}`, async (ctx) => {
      const unet = await loadGoldenUNet(ctx, source, { weightDtype: 'f32' });
      const got = await runUNet(ctx, unet, await goldenInputs());
      const want = await goldenOutput();
      console.log(`unet noise_pred f32 (${source}): ${compare(got, want, F32_TOL).report}`);
      expectClose(got, want, F32_TOL, `noise_pred (${source})`);
      unet.destroy(ctx);
    }, T);
  }

  gpuTest('noise_pred, f16 weights (when the adapter has shader-f16)', async (ctx) => {
    if (!ctx.hasF16) { console.log('skipped: no shader-f16'); return; }
    const unet = await loadGoldenUNet(ctx, 'folder', { weightDtype: 'f16' });
    expect(unet.weightDtype).toBe('f16');
    expect(unet.conv_in.weight.dtype).toBe('f16');
    const got = await runUNet(ctx, unet, await goldenInputs());
    const want = await goldenOutput();
    console.log(`unet noise_pred f16 weights: ${compare(got, want, F16_WEIGHT_TOL).report}`);
    expectClose(got, want, F16_WEIGHT_TOL, 'noise_pred (f16 weights)');
    unet.destroy(ctx);
  }, T);

  gpuTest('every intermediate, in execution order (names the first block that diverges)', async (ctx) => {
    const unet = await loadGoldenUNet(ctx, 'folder', { weightDtype: 'f32' });
    const r = await compareIntermediates(ctx, unet);
    console.log(`unet intermediates: ${r.compared} compared (+${r.extra} tapped without a golden), ` +
      `worst max|diff|/max|golden| = ${r.worst.toExponential(3)}`);
    if (r.first) expect.fail(`first divergence: ${r.first}\n${r.lines.join('\n')}`);
    expect(r.strays, 'tapped names unlike any golden name').toEqual([]);
    unet.destroy(ctx);
  }, T);

  gpuTest('a corrupted weight is reported at the first block it affects', async (ctx) => {
    const unet = await loadGoldenUNet(ctx, 'folder', { weightDtype: 'f32' });
    const conv1 = unet.down_blocks[1]!.resnets[0]!.conv1;
    ctx.device.queue.writeBuffer(conv1.weight.buffer, 0, new Float32Array(conv1.weight.size).fill(0.01));
    const r = await compareIntermediates(ctx, unet);
    expect(r.first).toBe('down_blocks.1.resnets.0');
    unet.destroy(ctx);
  }, T);

  gpuTest('pipeline golden: unet_out_stepI on CFG batches of 2', async (ctx) => {
    const unet = await loadGoldenUNet(ctx, 'folder', { weightDtype: 'f32' });
    const p = await openGolden('goldens/pipeline.safetensors');
    const timesteps = await p.i64('timesteps');
    const uncond = await p.f32('negative_prompt_embeds'), cond = await p.f32('prompt_embeds');
    const ehs = new Float32Array(uncond.length * 2);
    ehs.set(uncond); ehs.set(cond, uncond.length);
    const [, M, C] = p.shape('prompt_embeds');
    for (let i = 0; i < timesteps.length; i++) {
      const lat = await p.f32(i === 0 ? 'init_latents' : `latents_after_step${i - 1}`);
      const sample = new Float32Array(lat.length * 2);
      sample.set(lat); sample.set(lat, lat.length);
      const shape = p.shape('init_latents');
      const got = await runUNet(ctx, unet, {
        sample, sampleShape: [2, ...shape.slice(1)], timesteps: [timesteps[i]!, timesteps[i]!],
        ehs, ehsShape: [2, M!, C!],
      });
      const want = await p.f32(`unet_out_step${i}`);
      console.log(`unet pipeline step ${i} (t=${timesteps[i]}): ${compare(got, want, F32_TOL).report}`);
      expectClose(got, want, F32_TOL, `unet_out_step${i}`);
    }
    unet.destroy(ctx);
  }, T);
});

describe('UNet2DConditionModel batching and shapes', () => {
  gpuTest('per-sample timesteps and conditioning: batch 3 = golden rows [1, 0, 1]', async (ctx) => {
    const unet = await loadGoldenUNet(ctx, 'folder', { weightDtype: 'f32' });
    const inp = await goldenInputs();
    const per = inp.sample.length / 2, perE = inp.ehs.length / 2;
    const idx = [1, 0, 1];
    const got = await runUNet(ctx, unet, {
      sample: rows(inp.sample, per, idx), sampleShape: [3, ...inp.sampleShape.slice(1)],
      timesteps: idx.map((i) => inp.timesteps[i]!),
      ehs: rows(inp.ehs, perE, idx), ehsShape: [3, ...inp.ehsShape.slice(1)],
    });
    expectClose(got, rows(await goldenOutput(), per, idx), F32_TOL, 'batch 3');
    // batch 1, and a single timestep broadcast over the batch
    const one = await runUNet(ctx, unet, {
      sample: rows(inp.sample, per, [0]), sampleShape: [1, ...inp.sampleShape.slice(1)],
      timesteps: [inp.timesteps[0]!], ehs: rows(inp.ehs, perE, [0]), ehsShape: [1, ...inp.ehsShape.slice(1)],
    });
    expectClose(one, rows(await goldenOutput(), per, [0]), F32_TOL, 'batch 1');
    // timesteps as an f32 GpuTensor [B] (what a sampler keeps on the GPU)
    const x = ctx.upload(inp.sample, inp.sampleShape), e = ctx.upload(inp.ehs, inp.ehsShape);
    const t = ctx.upload(Float32Array.from(inp.timesteps), [2]);
    const y = unet.forward(ctx, x, t, e);
    expectClose(await ctx.read(y), await goldenOutput(), F32_TOL, 'GpuTensor timesteps');
    ctx.release(x, e, t, y);
    unet.destroy(ctx);
  }, T);

  gpuTest('latent not divisible by 8 (13x11): right shape, finite, batch-consistent', async (ctx) => {
    const unet = await loadGoldenUNet(ctx, 'folder', { weightDtype: 'f32' });
    const [h, w] = [13, 11];
    const per = 4 * h * w;
    const e = randn(2 * 77 * 32, 7);
    const sample = randn(2 * per, 8);
    const both = await runUNet(ctx, unet, { sample, sampleShape: [2, 4, h, w], timesteps: [500, 20], ehs: e, ehsShape: [2, 77, 32] });
    expect(both.length).toBe(2 * per);
    expect(both.every(Number.isFinite)).toBe(true);
    const second = await runUNet(ctx, unet, {
      sample: sample.subarray(per), sampleShape: [1, 4, h, w], timesteps: [20], ehs: e.subarray(77 * 32), ehsShape: [1, 77, 32],
    });
    expectClose(second, both.subarray(per), F32_TOL, 'sample 1 alone vs in the batch');
    unet.destroy(ctx);
  }, T);

  gpuTest('peak pool memory is released: a second forward allocates no new buffers', async (ctx) => {
    const before = ctx.pool.inUse;
    const unet = await loadGoldenUNet(ctx, 'folder', { weightDtype: 'f32' });
    const inp = await goldenInputs();
    // one context tensor for every call, as the sampler passes it: its cross-attention K/V are
    // computed by the first forward and kept by the model (fusions.ts), so later calls allocate nothing
    const x = ctx.upload(inp.sample, inp.sampleShape), e = ctx.upload(inp.ehs, inp.ehsShape);
    const once = async () => { const y = unet.forward(ctx, x, inp.timesteps, e); await ctx.read(y); ctx.release(y); };
    await once();
    const inUse = ctx.pool.inUse, owned = ctx.pool.owned;
    await once();
    expect(ctx.pool.inUse).toBe(inUse); // every intermediate went back to the pool
    expect(ctx.pool.owned).toBe(owned); // and was reused
    // the caches go with the model: nothing of it stays in use
    ctx.release(x, e);
    unet.destroy(ctx);
    expect(ctx.pool.inUse).toBe(before);
  }, T);

  gpuTest('cross-attention K/V cache: a new context is projected, not served from the old one', async (ctx) => {
    const unet = await loadGoldenUNet(ctx, 'folder', { weightDtype: 'f32' });
    const inp = await goldenInputs();
    const x = ctx.upload(inp.sample, inp.sampleShape);
    const run = async (ehs: Float32Array) => {
      const e = ctx.upload(ehs, inp.ehsShape);
      const y = unet.forward(ctx, x, inp.timesteps, e);
      const out = await ctx.read(y);
      ctx.release(y, e);  // released: its pooled buffer is handed to the next context, new contents
      return out;
    };
    const swapped = rows(inp.ehs, inp.ehs.length / inp.ehsShape[0]!, [1, 0]);
    const a = await run(inp.ehs);
    const b = await run(swapped);
    const a2 = await run(inp.ehs);
    unet.clearCaches(ctx);
    const bFresh = await run(swapped);  // projected from scratch
    expect(compare(b, a, F32_TOL).ok).toBe(false);  // a stale K/V would have given a again
    expectClose(b, bFresh, { atol: 0, rtol: 0, maxNmse: 0 });
    expectClose(a2, a, { atol: 0, rtol: 0, maxNmse: 0 });
    ctx.release(x);
    unet.destroy(ctx);
  }, T);
});

describe('UNet blocks', () => {
  gpuTest('FeedForward: row-chunked path (activations over one binding) equals the direct path', async (ctx) => {
    const w = await goldenUNetWeights('folder');
    const ff = await FeedForward.load(ctx, w.at('down_blocks.0.attentions.0.transformer_blocks.0.ff'), 32, { weightDtype: 'f32' });
    const x = ctx.upload(randn(2 * 256 * 32, 11), [2, 256, 32]);
    const res = ctx.upload(randn(2 * 256 * 32, 12), [2, 256, 32]);
    const direct = ff.forward(ctx, x, res);
    const chunked = ff.forward(ctx, x, res, 100 * 2 * 128 * 4); // 100 rows per chunk: 5 full + 1 ragged
    expectClose(await ctx.read(chunked), await ctx.read(direct), { atol: 0, rtol: 0 }, 'chunked vs direct');
    ctx.release(x, res, direct, chunked);
    ff.destroy(ctx);
    await w.close();
  }, T);
});

describe('UNet2DConditionModel loading', () => {
  gpuTest('wrong config: a missing/misshapen key names the key; unused keys are listed', async (ctx: GpuContext) => {
    const w = await goldenUNetWeights('folder');
    const cfg = { ...goldenUNetConfig(), cross_attention_dim: 48 };
    const resident = ctx.residentBytes;
    await expect(UNet2DConditionModel.load(ctx, w, cfg, { weightDtype: 'f32' })).rejects.toThrow(/attn2\.to_k\.weight/);
    expect(ctx.residentBytes).toBe(resident); // partial uploads were freed
    await w.close();
  }, T);

  gpuTest('config flags outside SD 1.x are rejected by name', async () => {
    const w = await goldenUNetWeights('folder');
    const ctx = null as unknown as GpuContext; // never reached: the config check runs first
    await expect(UNet2DConditionModel.load(ctx, w, { ...goldenUNetConfig(), use_linear_projection: true } as never)).rejects.toThrow(/use_linear_projection/);
    await w.close();
  }, T);
});
