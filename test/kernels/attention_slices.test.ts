// attentionSlices: q, k, v read as column slices of row-major buffers (the UNet's fused QKV
// projection [B, N, 3C] and its cross-attention K/V bank [B, M, sum 2C]), both kernels, f32 and
// f16, against the float64 reference on the same values given as dense tensors.
import { describe } from 'vitest';
import { attentionSlices, canUseSg, type AttentionVariant } from '../../src/kernels/attention.js';
import { attentionRef } from '../../src/kernels/reference/attention.js';
import { gpuTest } from '../helpers/gpu.js';
import { expectClose, F16_TOL, F32_TOL, randn, roundF16 } from '../helpers/numeric.js';

/** Columns [off, off + C) of every row of a [rows, width] array. */
function cols(a: Float32Array, rows: number, width: number, off: number, C: number): Float32Array {
  const out = new Float32Array(rows * C);
  for (let r = 0; r < rows; r++) out.set(a.subarray(r * width + off, r * width + off + C), r * C);
  return out;
}

const CASES = [
  { name: 'fused QKV, 64-token self-attention', B: 2, N: 64, M: 64, heads: 4, D: 8, kv: 'qkv' },
  { name: 'K/V bank slice, 77-token context', B: 2, N: 16, M: 77, heads: 2, D: 16, kv: 'bank' },
  { name: 'odd head size (tiled only)', B: 1, N: 9, M: 5, heads: 3, D: 6, kv: 'bank' },
] as const;

describe.each(['f32', 'f16'] as const)('attention slices %s', (dtype) => {
  for (const c of CASES) {
    for (const variant of ['sg', 'tiled'] as AttentionVariant[]) {
      gpuTest(`${variant} ${c.name}`, async (ctx) => {
        if (dtype === 'f16' && !ctx.hasF16) throw new Error('adapter lacks shader-f16');
        const C = c.heads * c.D;
        if (variant === 'sg' && (!canUseSg(ctx, c.D) || C % 4)) { console.warn('sg not usable here'); return; }
        const r16 = (a: Float32Array) => (dtype === 'f16' ? roundF16(a) : a);
        let qs: Float32Array, ks: Float32Array, vs: Float32Array;
        const bufs: { t: ReturnType<typeof ctx.upload>; off: number; rowStride: number }[] = [];
        if (c.kv === 'qkv') {
          const all = r16(randn(c.B * c.N * 3 * C, 5));
          const t = ctx.upload(all, [c.B, c.N, 3 * C], dtype);
          [qs, ks, vs] = [0, 1, 2].map((i) => cols(all, c.B * c.N, 3 * C, i * C, C)) as [Float32Array, Float32Array, Float32Array];
          bufs.push({ t, off: 0, rowStride: 3 * C }, { t, off: C, rowStride: 3 * C }, { t, off: 2 * C, rowStride: 3 * C });
        } else {
          const width = 4 * C + 8, off = 2 * C + 4;  // another layer's K/V before this one's
          const bank = r16(randn(c.B * c.M * width, 6));
          qs = r16(randn(c.B * c.N * C, 7));
          const tb = ctx.upload(bank, [c.B, c.M, width], dtype), tq = ctx.upload(qs, [c.B, c.N, C], dtype);
          ks = cols(bank, c.B * c.M, width, off, C);
          vs = cols(bank, c.B * c.M, width, off + C, C);
          bufs.push({ t: tq, off: 0, rowStride: C }, { t: tb, off, rowStride: width }, { t: tb, off: off + C, rowStride: width });
        }
        const y = attentionSlices(ctx, bufs[0]!, bufs[1]!, bufs[2]!, { B: c.B, Nq: c.N, Nk: c.M, C }, { heads: c.heads, variant });
        const want = attentionRef(qs, ks, vs, { B: c.B, Nq: c.N, Nk: c.M, heads: c.heads, D: c.D });
        expectClose(await ctx.read(y), want, dtype === 'f32' ? F32_TOL : F16_TOL, c.name);
        ctx.release(y, ...new Set(bufs.map((b) => b.t)));
      });
    }
  }
});
