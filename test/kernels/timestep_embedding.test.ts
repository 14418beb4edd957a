import { expect, test } from 'vitest';
import { fileByteSource } from '../../src/weights/byte_source_node.js';
import { openSafetensors } from '../../src/weights/safetensors.js';
import { timestepEmbeddingRef } from '../../src/kernels/reference/timestep_embedding.js';
import { timestepEmbedding, timestepFrequencies } from '../../src/kernels/timestep_embedding.js';
import { gpuTest } from '../helpers/gpu.js';
import { expectClose, F16_TOL } from '../helpers/numeric.js';

const T = [0, 1, 10, 250.5, 500, 981, 999, 1000];
// absolute: float32 rounding of freq and arg (as diffusers does) moves arg by up to ~1e-4 at t = 1000
const F64_TOL = { atol: 1e-4, rtol: 0, scale: 1 };

const CASES = [
  { dim: 320, flip: true, shift: 0, maxPeriod: 10000, scale: 1 },  // SD 1.4 time_proj
  { dim: 320, flip: false, shift: 1, maxPeriod: 10000, scale: 1 }, // get_timestep_embedding defaults
  { dim: 7, flip: true, shift: 0, maxPeriod: 10000, scale: 1 },    // odd dim: zero pad
  { dim: 64, flip: true, shift: 0, maxPeriod: 100, scale: 2 },
];

/** PyTorch's float32 arguments with float64 sin/cos: isolates the kernel's sin/cos error. */
function torchLikeRef(t: number[], dim: number, flip: boolean, shift: number, maxPeriod: number, scale: number): Float32Array {
  const f = timestepFrequencies(dim, shift, maxPeriod), half = f.length;
  const y = new Float32Array(t.length * dim);
  t.forEach((tv, n) => f.forEach((fr, i) => {
    const arg = Math.fround(scale * Math.fround(Math.fround(tv) * fr));
    y[n * dim + i] = flip ? Math.cos(arg) : Math.sin(arg);
    y[n * dim + half + i] = flip ? Math.sin(arg) : Math.cos(arg);
  }));
  return y;
}

test('frequencies: float32 steps as PyTorch, first and last of SD 1.4 (dim 320)', () => {
  const f = timestepFrequencies(320);
  expect(f[0]).toBe(1);
  expect(f.length).toBe(160);
  expect(Math.abs(f[159] - Math.exp((-Math.log(10000) * 159) / 160))).toBeLessThan(1e-10);
});

for (const c of CASES) {
  gpuTest(`timestep_embedding dim=${c.dim} flip=${c.flip} shift=${c.shift} maxPeriod=${c.maxPeriod} scale=${c.scale}`, async (ctx) => {
    const y = timestepEmbedding(ctx, ctx.upload(new Float32Array(T), [T.length]), c.dim,
      { flipSinToCos: c.flip, freqShift: c.shift, maxPeriod: c.maxPeriod, scale: c.scale });
    expect(y.shape).toEqual([T.length, c.dim]);
    const got = await ctx.read(y);
    expectClose(got, timestepEmbeddingRef(T, c.dim, c.flip, c.shift, c.maxPeriod, c.scale), F64_TOL, 'vs float64');
    expectClose(got, torchLikeRef(T, c.dim, c.flip, c.shift, c.maxPeriod, c.scale), { atol: 1e-6, rtol: 0, scale: 1 }, 'vs float32 args');
    if (c.dim % 2) for (let n = 0; n < T.length; n++) expect(got[n * c.dim + c.dim - 1]).toBe(0);
  });
}

gpuTest('timestep_embedding f16 output', async (ctx) => {
  const y = timestepEmbedding(ctx, ctx.upload(new Float32Array(T), [T.length]), 320, { dtype: 'f16' });
  expect(y.dtype).toBe('f16');
  expectClose(await ctx.read(y), timestepEmbeddingRef(T, 320), F16_TOL);
});

gpuTest('timestep_embedding matches the diffusers golden time_proj (t = 981, 1)', async (ctx) => {
  const src = await fileByteSource(new URL('../../../shared/golden/goldens/unet_intermediates.safetensors', import.meta.url).pathname);
  try {
    const f = await openSafetensors(src);
    const want = await f.readF32('time_proj');
    const y = timestepEmbedding(ctx, ctx.upload(new Float32Array([981, 1]), [2]), 32);
    // measured 1.9e-6 (at t=981, i=7: one float32 ulp of arg=17.4; PyTorch's exp is Sleef's 1-ulp expf)
    expectClose(await ctx.read(y), want, { atol: 1e-5, rtol: 0, scale: 1 });
  } finally {
    await src.close?.();
  }
});
