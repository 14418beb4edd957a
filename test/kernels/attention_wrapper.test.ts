// attention() and softmax() against their CPU references: both attention algorithms (rows for
// vec4 heads up to 160, wide for the rest), causal and not, batched, cross-attention to 77 keys.
import { attention } from '../../src/kernels/attention.js';
import { softmax } from '../../src/kernels/softmax.js';
import { attentionRef } from '../../src/kernels/reference/attention.js';
import { softmaxRef } from '../../src/kernels/reference/softmax.js';
import { gpuTest } from '../helpers/gpu.js';
import { expectClose, F16_TOL, F32_TOL, randn, roundF16 } from '../helpers/numeric.js';

const CASES = [
  { B: 2, Nq: 256, Nk: 256, heads: 8, D: 40, causal: false },   // SD self-attention head 40 (scaled down)
  { B: 2, Nq: 64, Nk: 77, heads: 8, D: 80, causal: false },     // cross-attention to the text tokens
  { B: 1, Nq: 16, Nk: 77, heads: 2, D: 160, causal: false },
  { B: 2, Nq: 77, Nk: 77, heads: 4, D: 8, causal: true },       // CLIP (tiny), causal mask
  { B: 1, Nq: 33, Nk: 13, heads: 3, D: 5, causal: false },      // awkward: odd D -> wide kernel
  { B: 1, Nq: 40, Nk: 40, heads: 1, D: 192, causal: true },     // wide head -> wide kernel
];

for (const dtype of ['f32', 'f16'] as const) {
  for (const c of CASES) {
    gpuTest(`attention ${dtype} B=${c.B} Nq=${c.Nq} Nk=${c.Nk} heads=${c.heads} D=${c.D}${c.causal ? ' causal' : ''}`, async (ctx) => {
      const C = c.heads * c.D;
      const r = (n: number, s: number) => (dtype === 'f16' ? roundF16(randn(n, s)) : randn(n, s));
      const q = r(c.B * c.Nq * C, 1), k = r(c.B * c.Nk * C, 2), v = r(c.B * c.Nk * C, 3);
      const o = attention(ctx, ctx.upload(q, [c.B, c.Nq, C], dtype), ctx.upload(k, [c.B, c.Nk, C], dtype), ctx.upload(v, [c.B, c.Nk, C], dtype),
        { heads: c.heads, causal: c.causal });
      expectClose(await ctx.read(o), attentionRef(q, k, v, { B: c.B, Nq: c.Nq, Nk: c.Nk, heads: c.heads, D: c.D }, 1 / Math.sqrt(c.D), c.causal),
        dtype === 'f32' ? F32_TOL : F16_TOL);
    }, 300_000); // first use compiles the shader: seconds to a minute on a loaded software adapter
  }
  for (const [rows, L] of [[12, 77], [3, 4096], [5, 197], [7, 1]]) {
    gpuTest(`softmax ${dtype} rows=${rows} L=${L}`, async (ctx) => {
      let x = randn(rows! * L!, 4, 3);
      if (dtype === 'f16') x = roundF16(x);
      expectClose(await ctx.read(softmax(ctx, ctx.upload(x, [rows!, L!], dtype))), softmaxRef(x, L!), dtype === 'f32' ? F32_TOL : F16_TOL);
    });
  }
}
