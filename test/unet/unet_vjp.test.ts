// The UNet's vector-Jacobian product (src/unet/vjp) on the public golden tiny UNet (SD 1.4
// topology): the tape forward is unet.forward, and the transpose identity
//     u . (J v) = (J^T u) . v
// holds against the forward-mode central difference J v ~ (eps(x + h v) - eps(x - h v)) / 2h
// (f32 on the GPU, dots in float64), within a tolerance set by the difference's own error:
// measured by halving h, err(h) ~ |FD(h) - FD(h/2)| (truncation, O(h^2)) plus f32 rounding
// of the forward divided by 2h. f32 and f16 weight storage.
// One f32 model per file: destroying a model after a VJP and loading another made the next
// submit use a destroyed buffer (not yet found; the pipeline loads its model once).
import { beforeAll, describe, expect } from 'vitest';
import type { GpuContext } from '../../src/gpu/context.js';
import type { GpuTensor } from '../../src/gpu/tensor.js';
import { setAutoTune } from '../../src/kernels/select_variant.js';
import type { UNet2DConditionModel } from '../../src/unet/unet_2d_condition.js';
import { recordUNetTape } from '../../src/unet/vjp/unet_vjp.js';
import { openGolden } from '../helpers/golden.js';
import { gpuTest } from '../helpers/gpu.js';
import { compare, expectClose, F32_TOL, randn } from '../helpers/numeric.js';
import { loadGoldenUNet } from '../modules/unet_helpers.js';

beforeAll(() => setAutoTune(false));
const T = 900_000;

async function inputs(ctx: GpuContext) {
  const g = await openGolden('goldens/unet_inputs.safetensors');
  return {
    x: ctx.upload(await g.f32('sample'), g.shape('sample')),
    t: await g.i64('timesteps'),
    c: ctx.upload(await g.f32('encoder_hidden_states'), g.shape('encoder_hidden_states')),
  };
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!; return s; };

/** u . (eps(x + h v) - eps(x - h v)) / 2h, in float64 from the f32 forwards */
async function fdDot(ctx: GpuContext, unet: UNet2DConditionModel, x: GpuTensor, t: number[], c: GpuTensor,
                     u: Float32Array, v: Float32Array, h: number): Promise<number> {
  const xs = await ctx.read(x);
  const at = async (sign: number) => ctx.scope(async () => {
    const xp = ctx.upload(xs.map((a, i) => a + sign * h * v[i]!), x.shape);
    return ctx.read(unet.forward(ctx, xp, t, c));
  });
  const [p, m] = [await at(1), await at(-1)];
  let s = 0;
  for (let i = 0; i < u.length; i++) s += u[i]! * ((p[i]! - m[i]!) / (2 * h));
  return s;
}

async function transposeIdentity(ctx: GpuContext, unet: UNet2DConditionModel, label: string) {
  const { x, t, c } = await inputs(ctx);
  const n = x.size;
  const rows: string[] = [];
  for (const seed of [1, 2]) {
    const u = randn(n, 100 + seed), v = randn(n, 200 + seed);
    ctx.pool.resetPeak();
    const base = ctx.pool.inUse;
    const tape = recordUNetTape(ctx, unet, x, t, c);
    const uT = ctx.upload(u, x.shape);
    const g = tape.backward(uT);
    const jtu = await ctx.read(g);
    const peak = ctx.pool.peak - base;
    ctx.release(g, uT, tape.eps);
    const rhs = dot(jtu, v);
    const h = 1e-2;
    const l1 = await fdDot(ctx, unet, x, t, c, u, v, h), l2 = await fdDot(ctx, unet, x, t, c, u, v, h / 2);
    // the FD's own error at h/2, measured by halving: truncation is O(h^2), so err(h/2) ~ |l1 - l2| / 3
    // (Richardson); f32 rounding of the forwards, divided by 2h, is part of what the halving sees.
    // Tolerance: 3x that error (the FD is the less exact side), floored at 1e-4 relative.
    const fdErr = Math.abs(l1 - l2) / 3;
    const tol = 3 * fdErr + 1e-4 * Math.abs(rhs);
    const diff = Math.abs(l2 - rhs);
    rows.push(`${label} seed ${seed}: (J^T u).v = ${rhs.toExponential(6)}, u.(J v)_fd h=${h}: ${l1.toExponential(6)}, h=${h / 2}: ${l2.toExponential(6)}; ` +
      `|diff| ${diff.toExponential(2)} (rel ${(diff / Math.abs(rhs)).toExponential(2)}), FD error est ${fdErr.toExponential(2)}, tol ${tol.toExponential(2)}; ` +
      `vjp peak ${(peak / 2 ** 20).toFixed(2)} MiB`);
    expect(Number.isFinite(rhs) && Math.abs(rhs) > 0).toBe(true);
    expect(diff, rows[rows.length - 1]).toBeLessThanOrEqual(tol);
    expect(diff / Math.abs(rhs)).toBeLessThan(1e-2);  // and the identity is not vacuous
  }
  console.log(rows.join('\n'));
  ctx.release(x, c);
}

describe('UNet VJP (golden tiny UNet)', () => {
  gpuTest('f32 weights: the tape forward is unet.forward, the tape frees everything but eps; transpose identity', async (ctx) => {
    const unet = await loadGoldenUNet(ctx, 'folder', { weightDtype: 'f32' });
    const { x, t, c } = await inputs(ctx);
    const want = await ctx.read(unet.forward(ctx, x, t, c));
    const before = ctx.pool.inUse, dbl = ctx.pool.doubleReleases;
    const tape = recordUNetTape(ctx, unet, x, t, c);
    const got = await ctx.read(tape.eps);
    console.log(`tape eps vs unet.forward: ${compare(got, want, F32_TOL).report}`);
    expectClose(got, want, F32_TOL, 'tape eps');
    const u = ctx.upload(randn(x.size, 7), x.shape);
    const g = tape.backward(u);
    ctx.release(g, u, tape.eps);
    expect(ctx.pool.inUse).toBe(before);
    expect(ctx.pool.doubleReleases).toBe(dbl);
    ctx.release(x, c);
    // then the transpose identity on the same model (one f32 model per file: see the note at the top)
    await transposeIdentity(ctx, unet, 'f32');
    unet.destroy(ctx);
  }, T);

  gpuTest('transpose identity, f16 weights (when the adapter has shader-f16)', async (ctx) => {
    if (!ctx.hasF16) { console.log('skipped: no shader-f16'); return; }
    const unet = await loadGoldenUNet(ctx, 'folder', { weightDtype: 'f16' });
    await transposeIdentity(ctx, unet, 'f16');
    unet.destroy(ctx);
  }, T);
});
