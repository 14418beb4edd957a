// linear's fused modes, every matmul variant against the float64 references composed:
//   geglu: w = [h; gate] rows, y = h * gelu(gate) in the epilogue (FeedForward net.0)
//   ln:    LayerNorm of x's rows on load (norm1/2/3 before a transformer block's GEMMs)
//   silu:  SiLU of x w^T + b, before the residual (the time-embedding MLP)
// f32 and f16 storage; row counts that are not multiples of any block, and a large row mean
// (the kernel's statistics are shifted by each row's first value so the variance survives it).
import { describe, expect } from 'vitest';
import { linear, MATMUL_VARIANTS } from '../../src/kernels/matmul.js';
import { gegluRef } from '../../src/kernels/reference/geglu.js';
import { layerNormRef } from '../../src/kernels/reference/layer_norm.js';
import { linearRef } from '../../src/kernels/reference/matmul.js';
import { gpuTest } from '../helpers/gpu.js';
import { expectClose, F16_TOL, F32_TOL, randn, roundF16 } from '../helpers/numeric.js';

const CASES = [
  { M: 77, K: 32, N: 48, geglu: true, ln: false, mean: 0, note: 'GEGLU, embedded FF width' },
  { M: 130, K: 64, N: 40, geglu: false, ln: true, mean: 0, note: 'LayerNorm, QKV-like' },
  { M: 33, K: 320, N: 96, geglu: true, ln: true, mean: 0, note: 'LayerNorm + GEGLU (norm3 -> ff.net.0)' },
  { M: 16, K: 128, N: 24, geglu: false, ln: true, mean: 30, note: 'LayerNorm, row mean 30x the spread' },
  { M: 2, K: 320, N: 1280, geglu: false, ln: false, mean: 0, silu: true, note: 'SiLU + residual, time-embedding linear_1' },
] as { M: number; K: number; N: number; geglu: boolean; ln: boolean; mean: number; silu?: boolean; note: string }[];

describe.each(['f32', 'f16'] as const)('linear fused %s', (dtype) => {
  for (const c of CASES) {
    for (const v of MATMUL_VARIANTS) {
      gpuTest(`${v} M=${c.M} K=${c.K} N=${c.N} (${c.note})`, async (ctx) => {
        if (dtype === 'f16' && !ctx.hasF16) throw new Error('adapter lacks shader-f16');
        if (v === 'subgroup' && !ctx.hasSubgroups) { console.warn('no subgroups here'); return; }
        const r16 = (a: Float32Array) => (dtype === 'f16' ? roundF16(a) : a);
        const rowsW = c.geglu ? 2 * c.N : c.N;
        const x = r16(randn(c.M * c.K, 1).map((e) => e + c.mean));
        const w = r16(randn(rowsW * c.K, 2, 1 / Math.sqrt(c.K))), b = r16(randn(rowsW, 3));
        const gamma = r16(randn(c.K, 4, 0.3).map((e) => 1 + e)), beta = r16(randn(c.K, 5, 0.3));
        const xn = c.ln ? layerNormRef(x, c.K, gamma, beta, 1e-5) : x;
        const full = linearRef(xn, w, c.M, rowsW, c.K, b);
        const act = c.silu ? full.map((v) => v / (1 + Math.exp(-v))) : full;
        const res = c.silu ? r16(randn(c.M * c.N, 6)) : undefined;
        const want = c.geglu ? gegluRef(act, c.N) : res ? act.map((v, i) => v + res[i]!) : act;
        const tx = ctx.upload(x, [c.M, c.K], dtype), tw = ctx.upload(w, [rowsW, c.K], dtype, true), tb = ctx.upload(b, [rowsW], dtype, true);
        const tg = ctx.upload(gamma, [c.K], dtype, true), tbe = ctx.upload(beta, [c.K], dtype, true);
        const tr = res && ctx.upload(res, [c.M, c.N], dtype);
        const y = linear(ctx, tx, tw, tb, { variant: v, geglu: c.geglu, ln: c.ln ? { gamma: tg, beta: tbe, eps: 1e-5 } : undefined, silu: c.silu, residual: tr });
        expect(y.shape).toEqual([c.M, c.N]);
        expectClose(await ctx.read(y), want, dtype === 'f32' ? F32_TOL : F16_TOL, c.note);
        ctx.release(tx, y, tr);
        for (const t of [tw, tb, tg, tbe]) ctx.destroy(t);
      }, 300_000);
    }
  }
});
