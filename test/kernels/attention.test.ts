import { describe, expect, test } from 'vitest';
import { attention, attentionVariant, canUseSg, type AttentionVariant } from '../../src/kernels/attention.js';
import { attentionRef } from '../../src/kernels/reference/attention.js';
import type { GpuContext } from '../../src/gpu/context.js';
import { ATTENTION_CASES, type AttentionCase } from '../cases/attention.js';
import { gpuTest } from '../helpers/gpu.js';
import { expectClose, F16_TOL, F32_TOL, randn, roundF16 } from '../helpers/numeric.js';

const label = (c: AttentionCase) =>
  `${c.name}: B=${c.B} Nq=${c.Nq} Nk=${c.Nk} heads=${c.heads} D=${c.D}${c.causal ? ' causal' : ''}`;

/** Runs one case against the reference; returns the variant that ran. */
async function check(ctx: GpuContext, c: AttentionCase, dtype: 'f32' | 'f16', variant?: AttentionVariant,
                     qScale = 1, scale?: number): Promise<AttentionVariant> {
  if (dtype === 'f16' && !ctx.hasF16) throw new Error('adapter lacks shader-f16, which the f16 path requires');
  const C = c.heads * c.D, seed = c.Nq * 31 + c.Nk * 7 + c.D;
  let q = randn(c.B * c.Nq * C, seed, qScale), k = randn(c.B * c.Nk * C, seed + 1), v = randn(c.B * c.Nk * C, seed + 2);
  if (dtype === 'f16') { q = roundF16(q); k = roundF16(k); v = roundF16(v); }
  const tq = ctx.upload(q, [c.B, c.Nq, C], dtype), tk = ctx.upload(k, [c.B, c.Nk, C], dtype), tv = ctx.upload(v, [c.B, c.Nk, C], dtype);
  const y = attention(ctx, tq, tk, tv, { heads: c.heads, causal: c.causal, variant, scale });
  const got = await ctx.read(y);
  const want = attentionRef(q, k, v, c, scale, c.causal);
  expectClose(got, want, dtype === 'f32' ? F32_TOL : F16_TOL, label(c));
  ctx.release(tq, tk, tv, y);
  return variant ?? attentionVariant(ctx, c.D);
}

describe('attention f32 (default variant)', () => {
  for (const c of ATTENTION_CASES) gpuTest(label(c), async (ctx) => { await check(ctx, c, 'f32'); });
});

describe('attention f16 storage', () => {
  const cases = ATTENTION_CASES.filter((c) => ['unet cross D=40', 'clip causal', 'awkward Nq=77 Nk=13 D=5', 'tiny unet D=4'].includes(c.name));
  for (const c of cases) gpuTest(label(c), async (ctx) => { await check(ctx, c, 'f16'); });
});

describe('attention forced variants', () => {
  // The tiled kernel is the GPU path: validate it here too (small shapes: slow on CPU adapters).
  // D4 = ceil(D/4) is a compile-time constant there: small D keeps lavapipe's compile short.
  const small: AttentionCase[] = [
    { name: 'tiled D=16', B: 2, Nq: 200, Nk: 150, heads: 2, D: 16 },
    { name: 'tiled causal D=8', B: 1, Nq: 77, Nk: 77, heads: 3, D: 8, causal: true },
    { name: 'tiled D=12 cross', B: 1, Nq: 70, Nk: 77, heads: 2, D: 12 },
  ];
  for (const c of small) gpuTest(`tiled ${label(c)}`, async (ctx) => { await check(ctx, c, 'f32', 'tiled'); });
  gpuTest('sg D=40 with batch 2 (skipped where the adapter lacks subgroups)', async (ctx) => {
    if (!canUseSg(ctx, 40)) return;
    await check(ctx, { name: 'sg', B: 2, Nq: 100, Nk: 90, heads: 2, D: 40 }, 'f32', 'sg');
  });
});

describe('attention numerics and options', () => {
  gpuTest('large logits (|scores| ~ 1e3) stay finite: the running max is subtracted', async (ctx) => {
    await check(ctx, { name: 'big', B: 1, Nq: 64, Nk: 300, heads: 2, D: 40 }, 'f32', undefined, 100);
    await check(ctx, { name: 'big causal', B: 1, Nq: 64, Nk: 64, heads: 2, D: 8, causal: true }, 'f32', 'tiled', 100);
  });
  gpuTest('explicit scale', async (ctx) => {
    await check(ctx, { name: 'scale', B: 1, Nq: 50, Nk: 60, heads: 2, D: 16 }, 'f32', undefined, 1, 0.37);
  });
  gpuTest('shape errors are reported', async (ctx) => {
    const a = ctx.upload(new Float32Array(2 * 3 * 8), [2, 3, 8]), b = ctx.upload(new Float32Array(2 * 5 * 6), [2, 5, 6]);
    expect(() => attention(ctx, a, a, a, { heads: 3 })).toThrow(/do not split into 3 heads/);
    expect(() => attention(ctx, a, b, b, { heads: 2 })).toThrow(/must be \[2, Nk, 8\]/);
    ctx.release(a, b);
  });
});

describe('attention reference', () => {
  test('one key returns v; causal row 0 sees only key 0', () => {
    const q = randn(2 * 4, 1), k = randn(1 * 4, 2), v = randn(1 * 4, 3);
    expect([...attentionRef(q, k, v, { B: 1, Nq: 2, Nk: 1, heads: 1, D: 4 })]).toEqual([...v, ...v]);
    const k3 = randn(3 * 4, 4), v3 = randn(3 * 4, 5);
    const y = attentionRef(q, k3, v3, { B: 1, Nq: 2, Nk: 3, heads: 1, D: 4 }, 0.5, true);
    expect([...y.slice(0, 4)]).toEqual([...v3.slice(0, 4)]);
  });
  test('equal scores average v (heads interleaved in channels)', () => {
    const q = new Float32Array(2 * 1 * 2); // 2 heads, D=1 -> zero scores
    const k = randn(3 * 2, 2), v = Float32Array.from([1, 10, 2, 20, 3, 30]);
    const y = attentionRef(q, k, v, { B: 1, Nq: 2, Nk: 3, heads: 2, D: 1 });
    expect([...y].map((x) => Math.round(x * 1e5) / 1e5)).toEqual([2, 20, 2, 20]);
  });
});
