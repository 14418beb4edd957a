// The VAE decoder's vector-Jacobian product (src/vae/vjp) on the public golden tiny VAE (SD 1.4
// topology, latent 4 x 8 x 8 -> image 3 x 64 x 64) and on the embedded model (weights/fmnist,
// latent 4 x 8 x 8 -> 3 x 32 x 32): the tape forward is vae.decode, the tape frees everything but
// the image, and the transpose identity
//     u . (D v) = (D^T u) . v
// holds against the forward-mode central difference D v ~ (D(z + h v) - D(z - h v)) / 2h (f32 on
// the GPU, dots in float64), within a tolerance set by the difference's own error, measured:
//  - truncation, O(h^2): by halving h, err(h/2) ~ |FD(h) - FD(h/2)| / 3 (Richardson), as the UNet
//    VJP's test (test/unet/unet_vjp.test.ts);
//  - rounding: the f32 decode's rounding, divided by 2h, does NOT shrink with h. On the golden VAE
//    (12288 outputs of scale 3.4) it is ~1e-2 at h = 5e-3, larger than the halving estimate
//    (measured FD at h = 0.08 .. 0.0025: -27.660, -26.855, -26.647, -26.600, -26.590, -26.615
//    against (D^T u).v = -26.579: converging as h^2 down to 5e-3, then noise). Halving once more,
//    to h/4 where rounding is twice its size at h/2, |FD(h/2) - FD(h/4)| bounds it from above.
// FD error estimate = both; tolerance 3x that plus 1e-4 relative (the FD is the less exact side),
// and the relative error must also be < 1e-2 so the check is not vacuous. Measured on lavapipe
// (|diff| / FD error estimate, two seeds): golden f32 1.1e-2 / 2.9e-2, 1.2e-2 / 1.2e-2; golden f16
// 1.1e-2 / 4.9e-3, 1.6e-2 / 6.6e-3 (rel <= 8e-4); fmnist f32 5.4e-4 / 1.9e-4, 2.9e-3 / 4.6e-3;
// fmnist f16 3.2e-4 / 1.7e-3, 6.5e-4 / 2.4e-3 (rel <= 7e-5).
// The mid-block attention's own identity (its scores path is small beside its residual in the
// whole decoder) is checked alone: there the FD converges to 1e-7 relative (tolerance as above).
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, test } from 'vitest';
import type { GpuContext } from '../../src/gpu/context.js';
import type { GpuTensor } from '../../src/gpu/tensor.js';
import { setAutoTune } from '../../src/kernels/select_variant.js';
import { loadPipelineFromPath } from '../../src/pipeline/load_pipeline_node.js';
import type { AutoencoderKL } from '../../src/vae/autoencoder_kl.js';
import { parseVaeConfig } from '../../src/vae/config.js';
import { vaeAttentionVjp } from '../../src/vae/vjp/attention_vjp.js';
import { checkDecoderVjpFits, recordDecoderTape } from '../../src/vae/vjp/decoder_vjp.js';
import { GOLDEN_DIR, openGolden } from '../helpers/golden.js';
import { gpuTest } from '../helpers/gpu.js';
import { compare, expectClose, F32_TOL, randn } from '../helpers/numeric.js';
import { goldenFile } from '../modules/unet_synthetic.js';

beforeAll(() => setAutoTune(false));
const T = 600_000;

const load = async (ctx: GpuContext, dir: string, weightDtype: 'f32' | 'f16') =>
  (await loadPipelineFromPath(ctx, dir, { components: ['vae'], weightDtype })).vae!;

/** the golden decode input, or a N(0, 1) latent of the embedded model's size */
async function latent(which: 'golden' | 'fmnist'): Promise<{ data: Float32Array; shape: number[] }> {
  if (which === 'fmnist') return { data: randn(4 * 8 * 8, 11), shape: [1, 4, 8, 8] };
  const g = await openGolden('goldens/vae_decode_inputs.safetensors');
  return { data: await g.f32('latent'), shape: g.shape('latent') };
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!; return s; };

/** u . (D(z + h v) - D(z - h v)) / 2h in float64 from the f32 decodes */
async function fdDot(ctx: GpuContext, vae: AutoencoderKL, z: Float32Array, shape: number[], u: Float32Array, v: Float32Array, h: number) {
  const at = (sign: number) => ctx.scope(async () => ctx.read(vae.decode(ctx, ctx.upload(z.map((a, i) => a + sign * h * v[i]!), shape))));
  const [p, m] = [await at(1), await at(-1)];
  let s = 0;
  for (let i = 0; i < u.length; i++) s += u[i]! * ((p[i]! - m[i]!) / (2 * h));
  return s;
}

async function tapeMatchesDecode(ctx: GpuContext, vae: AutoencoderKL, which: 'golden' | 'fmnist') {
  const zl = await latent(which);
  const z = ctx.upload(zl.data, zl.shape);
  const want = await ctx.read(vae.decode(ctx, z));
  const before = ctx.pool.inUse, dbl = ctx.pool.doubleReleases;
  const tape = recordDecoderTape(ctx, vae, z);
  const got = await ctx.read(tape.image);
  console.log(`${which}: tape image vs vae.decode: ${compare(got, want, F32_TOL).report}`);
  expectClose(got, want, F32_TOL, 'tape image');
  const u = ctx.upload(randn(tape.image.size, 7), tape.image.shape);
  const g = tape.backward(u);
  expect([...g.shape]).toEqual(zl.shape);
  ctx.release(g, u, tape.image);
  expect(ctx.pool.inUse).toBe(before);
  expect(ctx.pool.doubleReleases).toBe(dbl);
  ctx.release(z);
}

/** The identity with the tolerance above; fd(h) = u.(F(x + h v) - F(x - h v)) / 2h. Returns the report row. */
function checkIdentity(label: string, rhs: number, fd: (h: number) => Promise<number>, h = 1e-2): Promise<string> {
  return (async () => {
    const [l1, l2, l3] = [await fd(h), await fd(h / 2), await fd(h / 4)];
    const fdErr = Math.abs(l1 - l2) / 3 + Math.abs(l2 - l3);
    const tol = 3 * fdErr + 1e-4 * Math.abs(rhs);
    const diff = Math.abs(l2 - rhs);
    const row = `${label}: (D^T u).v = ${rhs.toExponential(6)}, u.(D v)_fd h=${h}: ${l1.toExponential(6)}, h=${h / 2}: ${l2.toExponential(6)}, ` +
      `h=${h / 4}: ${l3.toExponential(6)}; |diff| ${diff.toExponential(2)} (rel ${(diff / Math.abs(rhs)).toExponential(2)}), ` +
      `FD error est ${fdErr.toExponential(2)}, tol ${tol.toExponential(2)}`;
    expect(Number.isFinite(rhs) && Math.abs(rhs) > 0).toBe(true);
    expect(diff, row).toBeLessThanOrEqual(tol);
    expect(diff / Math.abs(rhs), row).toBeLessThan(1e-2);
    return row;
  })();
}

async function transposeIdentity(ctx: GpuContext, vae: AutoencoderKL, label: string, which: 'golden' | 'fmnist') {
  const zl = await latent(which);
  const z = ctx.upload(zl.data, zl.shape);
  const f = vae.downFactor, imgShape = [zl.shape[0]!, vae.config.outChannels, zl.shape[2]! * f, zl.shape[3]! * f];
  const rows: string[] = [];
  for (const seed of [1, 2]) {
    const u = randn(imgShape.reduce((a, b) => a * b), 100 + seed), v = randn(z.size, 200 + seed);
    ctx.pool.resetPeak();
    const base = ctx.pool.inUse;
    const uT = ctx.upload(u, imgShape);
    const g = vae.decodeVjp(ctx, z, uT);
    const dtu = await ctx.read(g);
    const peak = ctx.pool.peak - base;
    ctx.release(g, uT);
    const row = await checkIdentity(`${label} seed ${seed}`, dot(dtu, v), (h) => fdDot(ctx, vae, zl.data, zl.shape, u, v, h));
    rows.push(`${row}; vjp peak ${(peak / 2 ** 20).toFixed(2)} MiB`);
  }
  // the mid-block attention alone, at its input's size, on a N(0, 1) input
  const attn = vae.decoder.mid_block.attentions[0], xs = [1, attn.channels, zl.shape[2]!, zl.shape[3]!];
  const n = xs.reduce((a, b) => a * b), x = randn(n, 5), u = randn(n, 6), v = randn(n, 7);
  const ga = await ctx.scope(async () => ctx.read(vaeAttentionVjp(ctx, attn, ctx.upload(x, xs), ctx.upload(u, xs))));
  rows.push(await checkIdentity(`${label} mid-block attention`, dot(ga, v), async (h) => {
    const at = (s: number) => ctx.scope(async () => ctx.read(attn.forward(ctx, ctx.upload(x.map((a, i) => a + s * h * v[i]!), xs), vae.chunkBudget)));
    const [p, m] = [await at(1), await at(-1)];
    let s = 0;
    for (let i = 0; i < n; i++) s += u[i]! * ((p[i]! - m[i]!) / (2 * h));
    return s;
  }));
  console.log(rows.join('\n'));
  ctx.release(z);
}

describe('VAE decoder VJP', () => {
  for (const [which, dir] of [['golden', GOLDEN_DIR], ['fmnist', 'weights/fmnist']] as const) {
    gpuTest(`${which}, f32 weights: the tape forward is vae.decode and frees all but the image; transpose identity`, async (ctx) => {
      const vae = await load(ctx, dir, 'f32');
      await tapeMatchesDecode(ctx, vae, which);
      await transposeIdentity(ctx, vae, `${which} f32`, which);
      vae.destroy(ctx);
    }, T);

    gpuTest(`${which}, transpose identity, f16 weights (when the adapter has shader-f16)`, async (ctx) => {
      if (!ctx.hasF16) { console.log('skipped: no shader-f16'); return; }
      const vae = await load(ctx, dir, 'f16');
      await transposeIdentity(ctx, vae, `${which} f16`, which);
      vae.destroy(ctx);
    }, T);
  }
});

// Channel chunks (decoder_vjp.ts): a budget of 64 KiB splits the golden decoder's [1, 32, 64, 64]
// activations in 8 parts and its [1, 64, 64, 64] upsampled copy in 16, so every chunked backward
// runs (multi-part conv input gradients, GroupNorm per part, upsample + resplit) where SD 1.4 at
// 512 x 512 would split on a 128 MiB device. Chunked and unsplit differ only in f32 summation
// order (the conv's partial sums over parts), so the tolerance is the forward chunking test's.
const SAME = { atol: 1e-5, rtol: 1e-5, maxNmse: 1e-10 };

describe('VAE decoder VJP on channel chunks', () => {
  gpuTest('golden f32: chunked (budget 64 KiB) == unsplit; a batch of 2 that needs chunks == per-sample VJPs', async (ctx) => {
    const vae = await load(ctx, GOLDEN_DIR, 'f32');
    const zl = await latent('golden'), z = ctx.upload(zl.data, zl.shape);
    const f = vae.downFactor, imgShape = [1, vae.config.outChannels, zl.shape[2]! * f, zl.shape[3]! * f];
    const uData = randn(imgShape.reduce((a, b) => a * b), 7), u = ctx.upload(uData, imgShape);
    const vjp = (zt: GpuTensor, ut: GpuTensor) => ctx.scope(async () => ctx.read(vae.decodeVjp(ctx, zt, ut)));
    const whole = await vjp(z, u);
    const t1 = recordDecoderTape(ctx, vae, z);
    expect(t1.maxParts, 'the default budget splits nothing here').toBe(1);
    t1.release();
    ctx.release(t1.image);

    vae.maxChunkBytes = 64 * 1024;
    const want = await ctx.read(vae.decode(ctx, z));
    const before = ctx.pool.inUse, dbl = ctx.pool.doubleReleases;
    const tape = recordDecoderTape(ctx, vae, z);
    expect(tape.maxParts, 'the small budget must force channel chunks').toBe(16);
    expectClose(await ctx.read(tape.image), want, SAME, 'chunked tape image vs chunked vae.decode');
    const g = tape.backward(u);
    const chunked = await ctx.read(g);
    ctx.release(g, tape.image);
    expect(ctx.pool.inUse).toBe(before);
    expect(ctx.pool.doubleReleases).toBe(dbl);
    console.log(`golden f32 chunked (64 KiB) vs unsplit D^T u: ${compare(chunked, whole, SAME).report}`);
    expectClose(chunked, whole, SAME, 'chunked vs unsplit D^T u');
    expectClose(await vjp(z, u), whole, SAME, 'decodeVjp chunked vs unsplit');

    // batch of 2 at 256 KiB: the batch would need splits, so it runs per sample, each chunked
    vae.maxChunkBytes = 256 * 1024;
    const z2 = randn(zl.data.length, 8), u2 = randn(uData.length, 9);
    const second = await vjp(ctx.upload(z2, zl.shape), ctx.upload(u2, imgShape));
    const zb = new Float32Array([...zl.data, ...z2]), ub = new Float32Array([...uData, ...u2]);
    const both = await vjp(ctx.upload(zb, [2, ...zl.shape.slice(1)]), ctx.upload(ub, [2, ...imgShape.slice(1)]));
    expectClose(both.subarray(0, whole.length), whole, SAME, 'batch sample 0');
    expectClose(both.subarray(whole.length), second, SAME, 'batch sample 1');
    ctx.release(z, u);
    vae.destroy(ctx);
  }, T);

  test('SD 1.4 at a 64x64 latent on a 128 MiB binding: every activation has a split, the attention scores fit', () => {
    // the check needs only the config and downFactor (no weights, no GPU)
    const cfg = parseVaeConfig(readFileSync(goldenFile('sd14_configs/vae/config.json'), 'utf8'));
    const vae = { config: cfg, downFactor: 2 ** (cfg.blockOutChannels.length - 1) } as AutoencoderKL;
    const MiB = 2 ** 20;
    expect(checkDecoderVjpFits(vae, 64, 64, 128 * MiB, 128 * MiB)).toBe(256 * MiB);   // [1, 256, 512, 512]: split
    expect(() => checkDecoderVjpFits(vae, 128, 128, 128 * MiB, 128 * MiB)).toThrow(/attention scores/);
  });
});
