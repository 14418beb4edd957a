// Flash attention backward (P never stored): the float64 reference against central differences
// of the float64 forward (dq, dk, dv; self- and cross-attention), then the GPU passes against the
// reference in f32 and f16 at SD 1.4 shapes (8 heads of 40 at a 16x16 level, the 8x8 level's
// heads of 160, cross-attention to 77 tokens: dq only), a 4096-token self-attention (SD's 64x64
// level, where P would be 64 MiB per head; one narrow head so the CPU reference stays quick),
// and awkward ones (D not a multiple of 4, ragged tiles); each under both layouts where the
// adapter has them (tiled; subgroup shuffles when D % 4 == 0).
import { describe, expect, test } from 'vitest';
import { attention, canUseSg, type AttentionVariant } from '../../src/kernels/attention.js';
import { attentionFlashBackward } from '../../src/kernels/attention_flash_backward.js';
import { attentionProbsRef, attentionPvRef, type AttnDims } from '../../src/kernels/reference/attention_probs.js';
import { attentionFlashBackwardRef } from '../../src/kernels/reference/attention_flash_backward.js';
import { gpuTest } from '../helpers/gpu.js';
import { expectClose, F16_TOL, F32_TOL, randn, roundF16 } from '../helpers/numeric.js';
import { expectFd, fdError } from '../style/fd.js';

const fwd = (q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, d: AttnDims, scale: number) =>
  attentionPvRef(attentionProbsRef(q, k, d, scale), v, d);

function inputs(d: AttnDims, seed: number) {
  const C = d.heads * d.D, nq = d.B * d.Nq * C, nk = d.B * d.Nk * C;
  return {
    q: roundF16(randn(nq, seed)), k: roundF16(randn(nk, seed + 1)), v: roundF16(randn(nk, seed + 2)), dO: roundF16(randn(nq, seed + 3)),
  };
}

describe('reference vs finite differences (float64)', () => {
  for (const d of [{ B: 2, Nq: 7, Nk: 7, heads: 2, D: 3 }, { B: 1, Nq: 5, Nk: 9, heads: 3, D: 4 }] as AttnDims[]) {
    test(`B=${d.B} Nq=${d.Nq} Nk=${d.Nk} heads=${d.heads} D=${d.D}`, () => {
      const { q, k, v, dO } = inputs(d, 1), scale = d.D ** -0.5;
      const r = attentionFlashBackwardRef(q, k, v, dO, d, scale);
      expectFd(fdError((x) => fwd(x, k, v, d, scale), q, dO, r.dq, 5), 1e-8, 'dq');
      expectFd(fdError((x) => fwd(q, x, v, d, scale), k, dO, r.dk, 6), 1e-8, 'dk');
      expectFd(fdError((x) => fwd(q, k, x, d, scale), v, dO, r.dv, 7), 1e-8, 'dv');
    });
  }
});

interface Case { d: AttnDims; grads: 'qkv' | 'q'; note: string; f16?: boolean }
const CASES: Case[] = [
  { d: { B: 2, Nq: 256, Nk: 256, heads: 8, D: 40 }, grads: 'qkv', note: 'self, 320 ch = 8 x 40 (16x16 level)' },
  { d: { B: 1, Nq: 64, Nk: 64, heads: 8, D: 160 }, grads: 'qkv', note: 'self, 1280 ch = 8 x 160 (8x8 level)' },
  { d: { B: 2, Nq: 256, Nk: 77, heads: 8, D: 40 }, grads: 'q', note: 'cross to 77 text tokens, dq only' },
  { d: { B: 1, Nq: 4096, Nk: 4096, heads: 1, D: 8 }, grads: 'qkv', note: '4096 tokens (64x64 level), one narrow head', f16: false },
  { d: { B: 1, Nq: 37, Nk: 19, heads: 3, D: 6 }, grads: 'qkv', note: 'awkward: D=6, Nq != Nk, ragged tiles' },
  { d: { B: 3, Nq: 65, Nk: 65, heads: 1, D: 13 }, grads: 'qkv', note: 'awkward: D=13, 65 tokens' },
  { d: { B: 2, Nq: 45, Nk: 23, heads: 2, D: 12 }, grads: 'qkv', note: 'awkward: D=12, ragged subgroup tiles' },
];

describe('GPU vs reference', () => {
  for (const c of CASES) {
    const { B, Nq, Nk, heads, D } = c.d;
    gpuTest(`${c.note}: B=${B} Nq=${Nq} Nk=${Nk} heads=${heads} D=${D}`, async (ctx) => {
      const { q, k, v, dO } = inputs(c.d, 10), scale = D ** -0.5, C = heads * D;
      const ref = attentionFlashBackwardRef(q, k, v, dO, c.d, scale);
      const stats = new Float64Array(2 * ref.lse.length);
      ref.lse.forEach((l, i) => { stats[2 * i] = l; stats[2 * i + 1] = ref.delta[i]; });
      const dtypes = ctx.hasF16 && c.f16 !== false ? ['f32', 'f16'] as const : ['f32'] as const;
      const variants: AttentionVariant[] = canUseSg(ctx, D) ? ['tiled', 'sg'] : ['tiled'];
      for (const variant of variants) for (const dtype of dtypes) {
        const tol = dtype === 'f32' ? F32_TOL : F16_TOL;
        const up = (a: Float32Array, n: number) => ctx.upload(a, [B, n, C], dtype);
        const g = attentionFlashBackward(ctx, up(q, Nq), up(k, Nk), up(v, Nk), up(dO, Nq), { heads, grads: c.grads, variant });
        const what = `${variant} ${dtype}`;
        expect(g.dq.dtype).toBe(dtype);
        expectClose(await ctx.read(g.dq), ref.dq, tol, `dq ${what}`);
        expectClose(await ctx.read(g.stats), stats, F32_TOL, `lse, delta ${what}`);
        if (c.grads === 'q') { expect(g.dk).toBeUndefined(); continue; }
        expectClose(await ctx.read(g.dk!), ref.dk, tol, `dk ${what}`);
        expectClose(await ctx.read(g.dv!), ref.dv, tol, `dv ${what}`);
      }
    });
  }

  gpuTest('the statistics are those of the forward this differentiates', async (ctx) => {
    // o from the engine's forward kernel; delta_i must equal dO_i . o_i
    const d = { B: 1, Nq: 33, Nk: 33, heads: 2, D: 8 }, { q, k, v, dO } = inputs(d, 20), shape = [1, 33, 16];
    const [tq, tk, tv] = [q, k, v].map((a) => ctx.upload(a, shape));
    const o = await ctx.read(attention(ctx, tq, tk, tv, { heads: 2 }));
    const st = await ctx.read(attentionFlashBackward(ctx, tq, tk, tv, ctx.upload(dO, shape), { heads: 2 }).stats);
    const want = new Float64Array(2 * 33);
    for (let h = 0; h < 2; h++) for (let i = 0; i < 33; i++) {
      let s = 0;
      for (let e = 0; e < 8; e++) s += dO[i * 16 + h * 8 + e] * o[i * 16 + h * 8 + e];
      want[h * 33 + i] = s;
    }
    expectClose(st.filter((_, i) => i % 2 === 1), want, F32_TOL, 'delta = dO . o');
  });

  gpuTest('shape errors name the tensor', async (ctx) => {
    const q = ctx.alloc([1, 8, 16]), kv = ctx.alloc([1, 5, 16]);
    expect(() => attentionFlashBackward(ctx, q, kv, kv, ctx.alloc([1, 8, 8]), { heads: 2 })).toThrow(/dO \[1, ?8, ?8\]/);
    expect(() => attentionFlashBackward(ctx, q, ctx.alloc([1, 5, 8]), kv, q, { heads: 2 })).toThrow(/k \[1, ?5, ?8\]/);
    expect(() => attentionFlashBackward(ctx, q, kv, kv, q, { heads: 3 })).toThrow(/heads/);
  });
});
