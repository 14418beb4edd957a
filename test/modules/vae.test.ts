// AutoencoderKL against the diffusers goldens of the tiny SD-1.4-topology VAE (../shared/golden):
// encode (mean, logvar), decode (image) and every recorded intermediate, through the real loader
// from the diffusers folder and from the CompVis single file, f32 and f16 weights; channel-chunked
// execution (forced by a small binding budget) against the unsplit run and the goldens.
import { beforeAll, describe, expect, test } from 'vitest';
import type { GpuContext } from '../../src/gpu/context.js';
import { loadPipelineFromPath } from '../../src/pipeline/load_pipeline_node.js';
import type { AutoencoderKL } from '../../src/vae/autoencoder_kl.js';
import { attentionRef } from '../../src/kernels/reference/attention.js';
import { planChannelSplit } from '../../src/nn/channel_chunks.js';
import { scaledDotProduct } from '../../src/vae/unet_mid_block_2d.js';
import { setAutoTune } from '../../src/kernels/select_variant.js';
import { GOLDEN_DIR, openGolden } from '../helpers/golden.js';
import { gpuTest } from '../helpers/gpu.js';
import { compare, expectClose, randn, type Tolerance } from '../helpers/numeric.js';
import { compareIntermediates, expectAllIntermediatesClose, recordTaps } from '../helpers/taps.js';

// f32: max|diff| <= 1e-4 * scale + 1e-4 * |golden| (scale = max|golden|, per tensor)
const F32: Tolerance = { atol: 1e-4, rtol: 1e-4 };
// f16 weights (activations f32): within 5e-3 of the scale
const F16_WEIGHTS: Tolerance = { atol: 5e-3, rtol: 0 };

// Correctness only: kernel variants stay provisional (no background timing runs on a busy CPU adapter).
beforeAll(() => setAutoTune(false));

const SINGLE_FILE = `${GOLDEN_DIR}/single_file/tiny-sd14-public.safetensors`;

export async function loadGoldenVae(ctx: GpuContext, source: 'folder' | 'single_file', weightDtype: 'f32' | 'f16'): Promise<AutoencoderKL> {
  const m = source === 'folder'
    ? await loadPipelineFromPath(ctx, GOLDEN_DIR, { components: ['vae'], weightDtype })
    : await loadPipelineFromPath(ctx, SINGLE_FILE, { components: ['vae'], weightDtype, config: GOLDEN_DIR });
  return m.vae!;
}

async function encodeInputs() {
  const g = await openGolden('goldens/vae_encode_inputs.safetensors');
  return { data: await g.f32('image'), shape: g.shape('image') };
}

async function decodeInputs() {
  const g = await openGolden('goldens/vae_decode_inputs.safetensors');
  return { data: await g.f32('latent'), shape: g.shape('latent') };
}

async function runEncode(ctx: GpuContext, vae: AutoencoderKL, x: { data: Float32Array; shape: number[] }, tap?: ReturnType<typeof recordTaps>) {
  const image = ctx.upload(x.data, x.shape);
  const { mean, logvar } = vae.encode(ctx, image, tap?.tap);
  const out = { mean: await ctx.read(mean), logvar: await ctx.read(logvar), shape: mean.shape };
  ctx.release(image, mean, logvar);
  return out;
}

async function runDecode(ctx: GpuContext, vae: AutoencoderKL, z: { data: Float32Array; shape: number[] }, tap?: ReturnType<typeof recordTaps>) {
  const latent = ctx.upload(z.data, z.shape);
  const image = vae.decode(ctx, latent, tap?.tap);
  const out = { image: await ctx.read(image), shape: image.shape };
  ctx.release(latent, image);
  return out;
}

function report(what: string, got: Float32Array, want: Float32Array, tol: Tolerance): void {
  console.log(`${what}: ${compare(got, want, tol).report}`);
  expectClose(got, want, tol, what);
}

describe('AutoencoderKL golden (tiny SD 1.4 topology)', () => {
  for (const source of ['folder', 'single_file'] as const) {
    gpuTest(`encode + decode, f32 weights, ${source}, every intermediate`, async (ctx) => {
      const vae = await loadGoldenVae(ctx, source, 'f32');
      expect(vae.encoder.conv_in.weight.dtype).toBe('f32');
      const gOut = await openGolden('goldens/vae_encode_output.safetensors');
      const rec = recordTaps(ctx);
      const enc = await runEncode(ctx, vae, await encodeInputs(), rec);
      expect([...enc.shape]).toEqual([1, 4, 8, 8]);
      report(`vae_encode mean (${source})`, enc.mean, await gOut.f32('mean'), F32);
      report(`vae_encode logvar (${source})`, enc.logvar, await gOut.f32('logvar'), F32);
      expectAllIntermediatesClose(await compareIntermediates(rec, await openGolden('goldens/vae_encode_intermediates.safetensors'), F32),
        `vae_encode intermediates (${source})`);

      const dOut = await openGolden('goldens/vae_decode_output.safetensors');
      const rec2 = recordTaps(ctx);
      const dec = await runDecode(ctx, vae, await decodeInputs(), rec2);
      expect([...dec.shape]).toEqual([1, 3, 64, 64]);
      report(`vae_decode image (${source})`, dec.image, await dOut.f32('image'), F32);
      expectAllIntermediatesClose(await compareIntermediates(rec2, await openGolden('goldens/vae_decode_intermediates.safetensors'), F32),
        `vae_decode intermediates (${source})`);
      vae.destroy(ctx);
    });
  }

  gpuTest('encode + decode, f16 weights (when the adapter has shader-f16)', async (ctx) => {
    if (!ctx.hasF16) { console.log('skipped: no shader-f16'); return; }
    const vae = await loadGoldenVae(ctx, 'folder', 'f16');
    expect(vae.encoder.conv_in.weight.dtype).toBe('f16');
    const gOut = await openGolden('goldens/vae_encode_output.safetensors');
    const enc = await runEncode(ctx, vae, await encodeInputs());
    report('vae_encode mean (f16 weights)', enc.mean, await gOut.f32('mean'), F16_WEIGHTS);
    report('vae_encode logvar (f16 weights)', enc.logvar, await gOut.f32('logvar'), F16_WEIGHTS);
    const dec = await runDecode(ctx, vae, await decodeInputs());
    report('vae_decode image (f16 weights)', dec.image, await (await openGolden('goldens/vae_decode_output.safetensors')).f32('image'), F16_WEIGHTS);
    vae.destroy(ctx);
  });
});

describe('AutoencoderKL channel chunking (activations larger than one binding)', () => {
  const SAME: Tolerance = { atol: 1e-5, rtol: 1e-5 };
  for (const dtype of ['f32', 'f16'] as const) {
    gpuTest(`chunked == unsplit and == goldens, ${dtype} weights (budget 64 KiB)`, async (ctx) => {
      if (dtype === 'f16' && !ctx.hasF16) { console.log('skipped: no shader-f16'); return; }
      const vae = await loadGoldenVae(ctx, 'folder', dtype);
      const x = await encodeInputs(), z = await decodeInputs();
      const encFull = await runEncode(ctx, vae, x), decFull = await runDecode(ctx, vae, z);

      vae.maxChunkBytes = 64 * 1024; // [1, 32, 64, 64] f32 is 512 KiB: split in 8
      const rec = recordTaps(ctx), rec2 = recordTaps(ctx);
      const enc = await runEncode(ctx, vae, x, rec);
      const dec = await runDecode(ctx, vae, z, rec2);
      const maxParts = Math.max(...rec.parts.values(), ...rec2.parts.values());
      expect(maxParts, 'the small budget must force channel chunks').toBeGreaterThanOrEqual(8);
      expect(rec2.parts.get('decoder.up_blocks.2.upsamplers.0')).toBe(16); // [1, 64, 64, 64] = 1 MiB
      report(`chunked vs unsplit mean (${dtype})`, enc.mean, encFull.mean, SAME);
      report(`chunked vs unsplit logvar (${dtype})`, enc.logvar, encFull.logvar, SAME);
      report(`chunked vs unsplit image (${dtype})`, dec.image, decFull.image, SAME);
      if (dtype === 'f32') {
        expectAllIntermediatesClose(await compareIntermediates(rec, await openGolden('goldens/vae_encode_intermediates.safetensors'), F32),
          'chunked vae_encode intermediates');
        expectAllIntermediatesClose(await compareIntermediates(rec2, await openGolden('goldens/vae_decode_intermediates.safetensors'), F32),
          'chunked vae_decode intermediates');
      }
      vae.destroy(ctx);
    }, 600_000);
  }

  gpuTest('a batch of 2 that needs chunks runs per sample and matches single-sample runs', async (ctx) => {
    const vae = await loadGoldenVae(ctx, 'folder', 'f32');
    const z = await decodeInputs();
    const z2 = randn(z.data.length, 7);
    const single = [await runDecode(ctx, vae, z), await runDecode(ctx, vae, { data: z2, shape: z.shape })];
    const both = new Float32Array(2 * z.data.length);
    both.set(z.data); both.set(z2, z.data.length);
    vae.maxChunkBytes = 256 * 1024;
    const dec = await runDecode(ctx, vae, { data: both, shape: [2, 4, 8, 8] });
    expect([...dec.shape]).toEqual([2, 3, 64, 64]);
    const n = 3 * 64 * 64;
    report('batch sample 0', dec.image.subarray(0, n), single[0]!.image, { atol: 1e-5, rtol: 1e-5 });
    report('batch sample 1', dec.image.subarray(n), single[1]!.image, { atol: 1e-5, rtol: 1e-5 });
    const x = await encodeInputs();
    const x2 = randn(x.data.length, 8);
    const e1 = await runEncode(ctx, vae, { data: x2, shape: x.shape });
    const xb = new Float32Array(2 * x.data.length);
    xb.set(x.data); xb.set(x2, x.data.length);
    const eb = await runEncode(ctx, vae, { data: xb, shape: [2, 3, 64, 64] });
    report('batch encode sample 1 mean', eb.mean.subarray(4 * 64), e1.mean, { atol: 1e-5, rtol: 1e-5 });
    vae.destroy(ctx);
  }, 600_000);

  gpuTest('mid-block attention in query-row blocks == one shot == reference (N=2, L=100, C=24)', async (ctx) => {
    const [N, L, C] = [2, 100, 24];
    const q = randn(N * L * C, 11), k = randn(N * L * C, 12), v = randn(N * L * C, 13);
    const want = attentionRef(q, k, v, { B: N, Nq: L, Nk: L, heads: 1, D: C });
    const [tq, tk, tv] = [q, k, v].map((a) => ctx.upload(a, [N, L, C]));
    for (const budget of [1 << 30, 30 * L * 4, L * 4]) { // one shot, 30-row blocks, 1-row blocks
      const o = scaledDotProduct(ctx, tq!, tk!, tv!, C ** -0.5, budget);
      report(`attention blocks (budget ${budget})`, await ctx.read(o), want, { atol: 1e-5, rtol: 1e-5 });
      ctx.release(o);
    }
    ctx.release(tq, tk, tv);
  });

  test('SD 1.4 at 512 x 512 on a 128 MiB binding limit: every activation has a fitting split', () => {
    const limit = 128 * 2 ** 20;
    // decoder: [C, H] at each stage (latent 64x64), incl. the x2 copies before each upsampler conv
    const shapes: [number, number][] = [[512, 64], [512, 128], [512, 256], [256, 256], [256, 512], [128, 512], [512, 512]];
    for (const [C, H] of shapes) {
      const split = planChannelSplit([1, C, H, H], 4, 32, limit);
      expect(split.reduce((a, b) => a + b, 0)).toBe(C);
      for (const c of split) {
        expect(c * H * H * 4).toBeLessThanOrEqual(limit);
        expect(c % (C / 32)).toBe(0); // whole GroupNorm groups
      }
    }
    expect(planChannelSplit([1, 256, 512, 512], 4, 32, limit)).toEqual([128, 128]);
    expect(planChannelSplit([1, 512, 256, 256], 4, 32, limit)).toEqual([512]); // exactly 128 MiB fits
    expect(() => planChannelSplit([1, 3, 40000, 40000], 4, 32, limit)).toThrow(/does not fit/);
  });
});
