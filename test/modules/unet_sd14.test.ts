// Slow (TETHER_SLOW=1): the full-size SD 1.4 UNet (config from sd14_configs, 860M synthetic
// parameters generated from the key manifest, f16 when the adapter has shader-f16) builds through
// the real Weights path with every key consumed, and one forward at latent 1x4x16x16 gives a
// finite noise_pred of the right shape and a plausible magnitude.
import { beforeAll, describe, expect } from 'vitest';
import { setAutoTune } from '../../src/kernels/select_variant.js';
import { UNet2DConditionModel } from '../../src/unet/unet_2d_condition.js';
import { gpuTest } from '../helpers/gpu.js';
import { randn } from '../helpers/numeric.js';
import { runUNet } from './unet_helpers.js';
import { sd14SyntheticUNetWeights, sd14UNetConfigJson } from './unet_synthetic.js';

// provisional kernel variants only: no background measurements competing with the forwards
beforeAll(() => setAutoTune(false));

describe.skipIf(!process.env.TETHER_SLOW)('full-size SD 1.4 UNet (synthetic weights, TETHER_SLOW=1)', () => {
  gpuTest('load + one forward at 1x4x16x16', async (ctx) => {
    const dtype = ctx.hasF16 ? 'F16' : 'F32';
    const w = await sd14SyntheticUNetWeights(dtype);
    const t0 = performance.now();
    const unet = await UNet2DConditionModel.load(ctx, w, sd14UNetConfigJson());
    const tLoad = performance.now() - t0;
    expect(unet.weightDtype).toBe(dtype.toLowerCase());
    expect(ctx.residentBytes).toBeGreaterThan(859e6 * (dtype === 'F16' ? 2 : 4));
    const t1 = performance.now();
    const out = await runUNet(ctx, unet, {
      sample: randn(4 * 16 * 16, 1), sampleShape: [1, 4, 16, 16], timesteps: [981],
      ehs: randn(77 * 768, 2), ehsShape: [1, 77, 768],
    });
    const tFwd = performance.now() - t1;
    expect(out.length).toBe(4 * 16 * 16);
    expect(out.every(Number.isFinite)).toBe(true);
    let s2 = 0;
    for (const v of out) s2 += v * v;
    const rms = Math.sqrt(s2 / out.length);
    console.log(`SD 1.4 UNet (synthetic ${dtype}): load ${(tLoad / 1e3).toFixed(1)} s, forward ${(tFwd / 1e3).toFixed(1)} s, ` +
      `resident ${(ctx.residentBytes / 2 ** 20).toFixed(0)} MiB, pool peak ${(ctx.pool.peak / 2 ** 20).toFixed(1)} MiB, output rms ${rms.toFixed(3)}`);
    // weights scaled by 1/sqrt(fan_in) keep activations O(1): conv_out gives O(0.1..10), not 0 or 1e6
    expect(rms).toBeGreaterThan(1e-2);
    expect(rms).toBeLessThan(1e2);
    unet.destroy(ctx);
    await w.close();
  }, 1_800_000);
});
