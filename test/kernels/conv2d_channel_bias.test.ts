// conv2d's per-(sample, channel) epilogue term (flag 8: the UNet resnets' time-embedding
// projection read straight from one batched GEMM's output, at an offset with a row stride),
// every conv kernel against the float64 reference, f32 and f16.
import { describe, expect } from 'vitest';
import { CONV2D_VARIANTS, conv2d, conv2dVariants, convGeometry } from '../../src/kernels/conv2d.js';
import { conv2dRef } from '../../src/kernels/reference/conv2d.js';
import { gpuTest } from '../helpers/gpu.js';
import { expectClose, F16_TOL, F32_TOL, randn, roundF16 } from '../helpers/numeric.js';

// [N, C, H, W], [O, C, 3, 3]; the term sits at column `off` of a [N, stride] projection
const CASES = [
  { x: [2, 8, 8, 8], w: [16, 8, 3, 3], off: 20, stride: 52, note: 'batch 2, offset slice' },
  { x: [1, 12, 5, 7], w: [20, 12, 3, 3], off: 0, stride: 20, note: 'odd spatial, whole row' },
  { x: [3, 32, 4, 4], w: [64, 32, 3, 3], off: 64, stride: 192, note: 'SD 8x8-level shape class, batch 3' },
];

describe.each(['f32', 'f16'] as const)('conv2d channel bias %s', (dtype) => {
  for (const c of CASES) {
    for (const v of CONV2D_VARIANTS) {
      gpuTest(`${v} x=[${c.x}] w=[${c.w}] off ${c.off} stride ${c.stride} (${c.note})`, async (ctx) => {
        if (dtype === 'f16' && !ctx.hasF16) throw new Error('adapter lacks shader-f16');
        if (!conv2dVariants(ctx, convGeometry(c.x, c.w, 1, 1)).includes(v)) { console.warn(`${v} skipped here`); return; }
        const r16 = (a: Float32Array) => (dtype === 'f16' ? roundF16(a) : a);
        const n = (s: number[]) => s.reduce((a, b) => a * b, 1);
        const xs = r16(randn(n(c.x), 1)), ws = r16(randn(n(c.w), 2, 1 / Math.sqrt(c.w[1]! * 9)));
        const bs = r16(randn(c.w[0]!, 3)), ts = r16(randn(c.x[0]! * c.stride, 4));
        const want = conv2dRef(xs, c.x, ws, c.w, { pad: 1, bias: bs, channelBias: { t: ts, off: c.off, stride: c.stride } });
        const x = ctx.upload(xs, c.x, dtype), w = ctx.upload(ws, c.w, dtype, true), b = ctx.upload(bs, [c.w[0]!], dtype, true);
        const t = ctx.upload(ts, [c.x[0]!, c.stride], dtype);
        const y = conv2d(ctx, x, w, b, { pad: 1, channelBias: { t, off: c.off, stride: c.stride }, variant: v });
        expect(y.shape).toEqual(want.shape);
        expectClose(await ctx.read(y), want.y, dtype === 'f32' ? F32_TOL : F16_TOL);
        ctx.release(x, t, y);
        ctx.destroy(w);
        ctx.destroy(b);
      }, 300_000);
    }
  }
});
