// linear / bmm: every variant against the float64 CPU reference, f32 and f16 storage, on SD
// shapes and awkward ones; plus the variant selector (measurement, cache, forcing).
import { afterEach, describe, expect, test } from 'vitest';
import type { GpuContext } from '../../src/gpu/context.js';
import { bmm, linear, MATMUL_VARIANTS, matmulNaive, matmulTuneRequest, type MatmulVariant } from '../../src/kernels/matmul.js';
import { bmmRef, linearRef } from '../../src/kernels/reference/matmul.js';
import {
  cachedVariant, clearVariantCache, exportVariantCache, forcedVariant, forceVariant, importVariantCache, selectVariant, tuneVariant,
  variantKey, variantsSettled,
} from '../../src/kernels/select_variant.js';
import { BMM_CASES, LINEAR_CASES, type LinearCase } from '../cases/matmul.js';
import { gpuTest } from '../helpers/gpu.js';
import { expectClose, F16_TOL, F32_TOL, randn, roundF16 } from '../helpers/numeric.js';

type DT = 'f32' | 'f16';

function usable(ctx: GpuContext, v: MatmulVariant, dtype: DT): boolean {
  if (dtype === 'f16' && !ctx.hasF16) throw new Error('adapter lacks shader-f16, which the f16 path requires');
  if (v === 'subgroup' && !ctx.hasSubgroups) { console.warn('subgroup variant skipped: no subgroups on this adapter'); return false; }
  return true;
}

/** inputs (rounded to f16 for the f16 path) and their reference, computed once per case */
const linearData = new Map<string, { x: Float32Array; w: Float32Array; b?: Float32Array; r?: Float32Array; want: Float32Array }>();
function linearCase(c: LinearCase, dtype: DT) {
  const key = `${c.x}|${c.N}|${dtype}`;
  let d = linearData.get(key);
  if (!d) {
    const K = c.x[c.x.length - 1]!, M = c.x.reduce((a, b) => a * b, 1) / K;
    const r16 = (a: Float32Array) => (dtype === 'f16' ? roundF16(a) : a);
    const x = r16(randn(M * K, 1)), w = r16(randn(c.N * K, 2, 1 / Math.sqrt(K)));
    const b = c.bias ? r16(randn(c.N, 3)) : undefined, r = c.residual ? r16(randn(M * c.N, 4)) : undefined;
    d = { x, w, b, r, want: linearRef(x, w, M, c.N, K, b, r) };
    linearData.set(key, d);
  }
  return d;
}

describe.each(['f32', 'f16'] as const)('linear %s', (dtype) => {
  for (const c of LINEAR_CASES) {
    for (const v of MATMUL_VARIANTS) {
      gpuTest(`${v} x=[${c.x}] N=${c.N}${c.bias ? ' +bias' : ''}${c.residual ? ' +residual' : ''} (${c.note})`, async (ctx) => {
        if (!usable(ctx, v, dtype)) return;
        const K = c.x[c.x.length - 1]!;
        const d = linearCase(c, dtype);
        const x = ctx.upload(d.x, c.x, dtype), w = ctx.upload(d.w, [c.N, K], dtype, true);
        const b = d.b && ctx.upload(d.b, [c.N], dtype, true);
        const r = d.r && ctx.upload(d.r, [...c.x.slice(0, -1), c.N], dtype);
        const y = linear(ctx, x, w, b, { residual: r, variant: v });
        expect(y.shape).toEqual([...c.x.slice(0, -1), c.N]);
        expectClose(await ctx.read(y), d.want, dtype === 'f32' ? F32_TOL : F16_TOL);
        ctx.release(x, r, y);
        ctx.destroy(w);
        if (b) ctx.destroy(b);
      });
    }
  }
});

describe.each(['f32', 'f16'] as const)('bmm %s', (dtype) => {
  for (const c of BMM_CASES) {
    for (const v of MATMUL_VARIANTS) {
      gpuTest(`${v} [${c.B}] ${c.M}x${c.N}x${c.K}${c.transA ? ' A^T' : ''}${c.transB ? ' B^T' : ''} alpha=${c.alpha.toFixed(3)} (${c.note})`, async (ctx) => {
        if (!usable(ctx, v, dtype)) return;
        const r16 = (a: Float32Array) => (dtype === 'f16' ? roundF16(a) : a);
        const a = r16(randn(c.B * c.M * c.K, 5)), b = r16(randn(c.B * c.K * c.N, 6));
        const ta = ctx.upload(a, c.transA ? [c.B, c.K, c.M] : [c.B, c.M, c.K], dtype);
        const tb = ctx.upload(b, c.transB ? [c.B, c.N, c.K] : [c.B, c.K, c.N], dtype);
        const y = bmm(ctx, ta, tb, { transA: c.transA, transB: c.transB, alpha: c.alpha, variant: v });
        expect(y.shape).toEqual([c.B, c.M, c.N]);
        const want = bmmRef(a, b, c.B, c.M, c.N, c.K, c);
        expectClose(await ctx.read(y), want, dtype === 'f32' ? F32_TOL : F16_TOL);
        ctx.release(ta, tb, y);
      });
    }
  }
});

describe('linear, f32 activations with f16 weights (the default on shader-f16 adapters)', () => {
  const c = LINEAR_CASES[0]!;
  for (const v of MATMUL_VARIANTS) {
    gpuTest(`${v} x=[${c.x}] N=${c.N} +bias +residual`, async (ctx) => {
      if (!usable(ctx, v, 'f16')) return;
      const K = c.x[c.x.length - 1]!, M = c.x.reduce((a, b) => a * b, 1) / K;
      const x = randn(M * K, 21), w = roundF16(randn(c.N * K, 22, 1 / Math.sqrt(K))), b = roundF16(randn(c.N, 23)), r = randn(M * c.N, 24);
      const tx = ctx.upload(x, c.x), tw = ctx.upload(w, [c.N, K], 'f16', true), tb = ctx.upload(b, [c.N], 'f16', true);
      const tr = ctx.upload(r, [...c.x.slice(0, -1), c.N]);
      const y = linear(ctx, tx, tw, tb, { residual: tr, variant: v });
      expect(y.dtype).toBe('f32');
      expectClose(await ctx.read(y), linearRef(x, w, M, c.N, K, b, r), F32_TOL);
      ctx.release(tx, tr, y);
      ctx.destroy(tw);
      ctx.destroy(tb);
    });
  }
});

describe('shapes and selection', () => {
  afterEach(() => { forceVariant('matmul', undefined); });

  gpuTest('rank-2 bmm, matmulNaive and shape errors', async (ctx) => {
    const a = randn(6 * 4, 7), b = randn(4 * 5, 8);
    const y = bmm(ctx, ctx.upload(a, [6, 4]), ctx.upload(b, [4, 5]));
    expect(y.shape).toEqual([6, 5]);
    expectClose(await ctx.read(y), bmmRef(a, b, 1, 6, 5, 4));
    const w = randn(5 * 4, 9);
    const yn = matmulNaive(ctx, ctx.upload(a, [6, 4]), ctx.upload(w, [5, 4]));
    expectClose(await ctx.read(yn), linearRef(a, w, 6, 5, 4));
    expect(() => linear(ctx, ctx.upload(a, [6, 4]), ctx.upload(w, [4, 5]))).toThrow(/does not fit w/);
    expect(() => bmm(ctx, ctx.upload(a, [6, 4]), ctx.upload(w, [5, 4]))).toThrow(/do not fit/);
  });

  gpuTest('tuneVariant times every candidate (interleaved rounds), caches, exports and imports', async (ctx) => {
    clearVariantCache(ctx);
    const req = matmulTuneRequest(ctx, 'kk', 200, 300, 320, { T: 'f32', W: 'f32' });
    const v = await tuneVariant(ctx, req);
    expect(req.candidates).toContain(v);
    const key = variantKey(ctx, 'matmul', req.shapeClass, req.dtype);
    const saved = exportVariantCache(ctx);
    const rec = saved[key]!;
    expect(rec).toEqual(cachedVariant(ctx, 'matmul', req.shapeClass, req.dtype));
    expect(Object.keys(rec.ms).sort()).toEqual([...req.candidates].sort());
    expect(rec.ms[v]).toBe(Math.min(...Object.values(rec.ms)));
    expect(await tuneVariant(ctx, req)).toBe(v);  // cached: no second measurement
    clearVariantCache(ctx);
    importVariantCache(ctx, JSON.parse(JSON.stringify({ [key]: { ...rec, variant: 'naive' } })));
    expect(selectVariant(ctx, req, 'tiled')).toBe('naive');  // an imported choice is used as is
    forceVariant('matmul', 'regblock');
    expect(selectVariant(ctx, req, 'tiled')).toBe('regblock');
    forceVariant('matmul', 'nonsense');
    expect(() => selectVariant(ctx, req, 'tiled')).toThrow(/forced variant 'nonsense'/);
  });

  gpuTest('each candidate repeats its proxy until a timed pass spans >= 1 ms on a CPU adapter (10 runs on GPUs)', async (ctx) => {
    clearVariantCache(ctx);
    // 16 x 64 x 64: a GEMM of the embedded UNet, 0.03-0.3 ms per run here, i.e. 0-5 quanta of
    // lavapipe's 65.5 us timer in one run: timed once, candidates tied
    const req = matmulTuneRequest(ctx, 'kk', 16, 64, 64, { T: 'f32', W: 'f32' });
    await tuneVariant(ctx, req);
    const rec = cachedVariant(ctx, 'matmul', req.shapeClass, req.dtype)!;
    expect(Object.keys(rec.repeats!).sort()).toEqual([...req.candidates].sort());
    for (const v of req.candidates) {
      const n = rec.repeats![v]!;
      expect(Number.isInteger(n) && n >= 1 && n <= 64).toBe(true);
      if (!ctx.adapter.isFallbackAdapter) expect(n).toBe(10);
    }
    if (ctx.adapter.isFallbackAdapter) {
      const fastest = rec.ms[rec.variant]!;
      expect(rec.repeats![rec.variant]!).toBeGreaterThan(1);               // the winner ran well under 1 ms
      expect(fastest * rec.repeats![rec.variant]!).toBeGreaterThan(0.25);  // its pass spanned many quanta
    }
  });

  gpuTest('a class met while not frozen waits for settleVariants; met while frozen, it is pinned and never changes', async (ctx) => {
    clearVariantCache(ctx);
    const a = matmulTuneRequest(ctx, 'kk', 200, 300, 320, { T: 'f32', W: 'f32' });
    const b = matmulTuneRequest(ctx, 'mn', 2000, 40, 40, { T: 'f32', W: 'f32' });
    expect(a.shapeClass).not.toBe(b.shapeClass);
    const provisional = a.candidates[0]!;
    expect(selectVariant(ctx, a, provisional)).toBe(provisional);      // nothing measured in the background
    expect(cachedVariant(ctx, 'matmul', a.shapeClass, a.dtype)).toBeUndefined();
    expect(ctx.variants.pending.size).toBe(1);
    await variantsSettled(ctx);
    const measured = cachedVariant(ctx, 'matmul', a.shapeClass, a.dtype)!;
    expect(Object.keys(measured.ms).sort()).toEqual([...a.candidates].sort());
    expect(ctx.variants.pending.size).toBe(0);
    const other = b.candidates.find((v) => v !== b.candidates[0])!;
    await ctx.variants.frozenWhile(async () => {
      expect(selectVariant(ctx, b, other)).toBe(other);                // pinned to the provisional at once
      await expect(tuneVariant(ctx, b)).resolves.toBe(other);          // a valid entry: nothing to measure
    });
    expect(ctx.variants.pending.size).toBe(0);
    expect(cachedVariant(ctx, 'matmul', b.shapeClass, b.dtype)).toMatchObject({ variant: other, ms: {} });
    ctx.variants.set(variantKey(ctx, 'matmul', b.shapeClass, b.dtype), { variant: b.candidates[0]!, ms: {}, proxy: '' });
    expect(selectVariant(ctx, b, b.candidates[0]!)).toBe(other);       // entries never change once set
  });
});

test('variant list is the four algorithm files', () => {
  expect([...MATMUL_VARIANTS]).toEqual(['naive', 'tiled', 'regblock', 'subgroup']);
});

test('TETHER_MATMUL_VARIANT forces a variant (debugging), forceVariant() takes precedence', () => {
  const env = process.env;
  env.TETHER_MATMUL_VARIANT = 'naive';
  try {
    expect(forcedVariant('matmul')).toBe('naive');
    expect(forcedVariant('conv2d')).toBeUndefined();
    forceVariant('matmul', 'tiled');
    expect(forcedVariant('matmul')).toBe('tiled');
  } finally {
    forceVariant('matmul', undefined);
    delete env.TETHER_MATMUL_VARIANT;
  }
  expect(forcedVariant('matmul')).toBeUndefined();
});
