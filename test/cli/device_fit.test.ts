// src/pipeline/device_fit.ts: the largest buffer a run cannot split, and the largest image a
// device can do, from the configs alone (SD 1.4: UNet block_out_channels 320/640/1280/1280, VAE
// 128/256/512/512 with 32 groups).
import { describe, expect, test } from 'vitest';
import { activationFit, bindingLimit, checkWeightsFit, DeviceFitError, formatBytes, largestBinding, largestSquare } from '../../src/pipeline/device_fit.js';
import type { Weights } from '../../src/weights/index.js';
import { SD14_UNET } from '../../src/unet/config.js';
import { SD14_VAE } from '../../src/vae/config.js';

const sd14 = { unet: SD14_UNET, vae: SD14_VAE };
const MiB128 = 128 * 2 ** 20;

describe('activations', () => {
  test('SD 1.4 at 512x512: the UNet skip concat [B, 960, 64, 64] is the largest unsplittable buffer', () => {
    expect(largestBinding(sd14, { N: 1, unetBatchPerImage: 2, H: 512, W: 512 })).toEqual({ bytes: 2 * 960 * 64 * 64 * 4, what: 'UNet skip concatenation [2, 960, 64, 64]' });
    expect(activationFit(sd14, { N: 1, unetBatchPerImage: 4, H: 512, W: 512 }, MiB128).ok).toBe(true);
  });
  test('8000x512 does not fit 128 MiB; the largest square that does is found and fits', () => {
    const run = { N: 1, unetBatchPerImage: 2 };
    const fit = activationFit(sd14, { ...run, H: 512, W: 8000 }, MiB128);
    expect(fit.ok).toBe(false);
    expect(fit.need.bytes).toBe(2 * 960 * 64 * 1000 * 4);
    const s = fit.maxSquare;
    expect(s % 8).toBe(0);
    expect(largestBinding(sd14, { ...run, H: s, W: s }).bytes).toBeLessThanOrEqual(MiB128);
    expect(largestBinding(sd14, { ...run, H: s + 8, W: s + 8 }).bytes).toBeGreaterThan(MiB128);
    expect(largestSquare(sd14, { N: 1, unetBatchPerImage: 1 }, MiB128)).toBeGreaterThan(s);   // no guidance: half the UNet batch
  });
  test('limits and byte counts in binary units', () => {
    expect(bindingLimit({ maxStorageBufferBindingSize: MiB128, maxBufferSize: 2 ** 32 })).toBe(MiB128);
    expect(bindingLimit({ maxStorageBufferBindingSize: MiB128, maxBufferSize: 2 ** 32 }, 1024)).toBe(1024);
    expect([formatBytes(1536), formatBytes(MiB128), formatBytes(2.25 * 2 ** 30)]).toEqual(['1.5 kB', '128 MB', '2.3 GB']);
  });
});

describe('weights', () => {
  const tree = (shapes: Record<string, number[]>): Weights => ({
    keys: () => Object.keys(shapes), tensorInfo: (k: string) => ({ shape: shapes[k]! }), close: async () => {},
  }) as unknown as Weights;
  test('a tensor over the limit is named; the CLIP token embedding is exempt (gathered on the CPU)', async () => {
    const ok = tree({ 'token_embedding.weight': [49408, 768], 'a.weight': [1024, 1024] });
    expect(await checkWeightsFit([ok], 8 * 2 ** 20, 'f32', false)).toBe((49408 * 768 + 1024 * 1024) * 4);
    const big = tree({ 'conv.weight': [4096, 1024] });
    await expect(checkWeightsFit([big], 8 * 2 ** 20, 'f32', true)).rejects.toThrow(DeviceFitError);
    await expect(checkWeightsFit([big], 8 * 2 ** 20, 'f32', true)).rejects.toThrow(/1 weight tensor is larger than the biggest GPU buffer this device allows \(8.0 MB\): conv.weight \(16 MB\). f16 weights would halve them./);
  });
});
