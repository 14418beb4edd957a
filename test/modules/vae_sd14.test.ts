// Slow (TETHER_SLOW=1): the full-size SD 1.4 VAE (sd14_configs/vae/config.json, 83.7M synthetic
// parameters generated from the key manifest, f16 when the adapter has shader-f16) builds through
// the real Weights path with every key consumed, and decodes a 1x4x16x16 latent to a finite
// [1, 3, 128, 128] image. TETHER_SLOW=512 also decodes (and encodes) at 512 x 512, where
// activations reach [1, 256, 512, 512] (256 MiB in f32) and must run as channel chunks on a
// device whose maxStorageBufferBindingSize is 128 MiB (lavapipe's).
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect } from 'vitest';
import type { GpuContext } from '../../src/gpu/context.js';
import { AutoencoderKL } from '../../src/vae/autoencoder_kl.js';
import { parseVaeConfig } from '../../src/vae/config.js';
import { openSafetensors } from '../../src/weights/safetensors.js';
import { Weights } from '../../src/weights/weights.js';
import { setAutoTune } from '../../src/kernels/select_variant.js';
import { gpuTest } from '../helpers/gpu.js';
import { randn, randu } from '../helpers/numeric.js';
import { goldenFile, syntheticSafetensors } from './unet_synthetic.js';

// Correctness only: kernel variants stay provisional (no background timing runs on a busy CPU adapter).
beforeAll(() => setAutoTune(false));

async function sd14Vae(ctx: GpuContext): Promise<AutoencoderKL> {
  const m = JSON.parse(readFileSync(goldenFile('sd14_configs/sd14_key_manifest.json'), 'utf8')) as {
    diffusers: Record<string, Record<string, number[]>>;
  };
  const shapes = m.diffusers['vae/diffusion_pytorch_model.safetensors']!;
  const dtype = ctx.hasF16 ? 'F16' : 'F32';
  const file = await openSafetensors(syntheticSafetensors(shapes, dtype, 'synthetic SD 1.4 vae'));
  const w = Weights.fromFiles([file], { label: 'vae (synthetic SD 1.4)' });
  const cfg = parseVaeConfig(readFileSync(goldenFile('sd14_configs/vae/config.json'), 'utf8'));
  const vae = await AutoencoderKL.load(ctx, w, cfg);
  expect(vae.encoder.conv_in.weight.dtype).toBe(dtype.toLowerCase());
  return vae;
}

function stats(a: Float32Array): { finite: boolean; rms: number } {
  let s2 = 0, finite = true;
  for (const v of a) { if (!Number.isFinite(v)) finite = false; s2 += v * v; }
  return { finite, rms: Math.sqrt(s2 / a.length) };
}

describe.skipIf(!process.env.TETHER_SLOW)('full-size SD 1.4 VAE (synthetic weights, TETHER_SLOW=1)', () => {
  gpuTest('load + decode 1x4x16x16 -> finite [1, 3, 128, 128]', async (ctx) => {
    const t0 = performance.now();
    const vae = await sd14Vae(ctx);
    const tLoad = performance.now() - t0;
    const z = ctx.upload(randn(4 * 16 * 16, 3), [1, 4, 16, 16]);
    const t1 = performance.now();
    const img = vae.decode(ctx, z);
    expect([...img.shape]).toEqual([1, 3, 128, 128]);
    const out = await ctx.read(img);
    const s = stats(out);
    console.log(`SD 1.4 VAE decode 16x16 -> 128x128: load ${(tLoad / 1e3).toFixed(1)} s, decode ${((performance.now() - t1) / 1e3).toFixed(1)} s, ` +
      `resident ${(ctx.residentBytes / 2 ** 20).toFixed(0)} MiB, pool peak ${(ctx.pool.peak / 2 ** 20).toFixed(1)} MiB, rms ${s.rms.toFixed(3)}`);
    expect(s.finite).toBe(true);
    expect(s.rms).toBeGreaterThan(1e-3);
    ctx.release(z, img);
    vae.destroy(ctx);
  }, 1_800_000);

  describe.skipIf(process.env.TETHER_SLOW !== '512')('512 x 512 (TETHER_SLOW=512)', () => {
    gpuTest('decode 64x64 -> 512x512 and encode 512x512 under the 128 MiB binding limit', async (ctx) => {
      const vae = await sd14Vae(ctx);
      vae.maxChunkBytes = Math.min(vae.maxChunkBytes, 128 * 2 ** 20);
      const parts = new Map<string, number>();
      const z = ctx.upload(randn(4 * 64 * 64, 4), [1, 4, 64, 64]);
      const t1 = performance.now();
      const img = vae.decode(ctx, z, (name, v) => { if ('parts' in v) parts.set([...ctx.modulePath, name].join('.'), v.parts.length); });
      const out = await ctx.read(img);
      const s = stats(out);
      console.log(`SD 1.4 VAE decode 64x64 -> 512x512: ${((performance.now() - t1) / 1e3).toFixed(1)} s, pool peak ` +
        `${(ctx.pool.peak / 2 ** 20).toFixed(0)} MiB, chunked blocks: ${[...parts].filter(([, n]) => n > 1).map(([k, n]) => `${k}:${n}`).join(' ')}`);
      expect([...img.shape]).toEqual([1, 3, 512, 512]);
      expect(s.finite).toBe(true);
      expect(parts.get('decoder.up_blocks.3.resnets.0')).toBeGreaterThan(1);
      ctx.release(z, img);
      const x = ctx.upload(randu(3 * 512 * 512, 5), [1, 3, 512, 512]);
      const { mean, logvar } = vae.encode(ctx, x);
      expect([...mean.shape]).toEqual([1, 4, 64, 64]);
      expect(stats(await ctx.read(mean)).finite).toBe(true);
      expect(stats(await ctx.read(logvar)).finite).toBe(true);
      ctx.release(x, mean, logvar);
      vae.destroy(ctx);
    }, 3_600_000);
  });
});
