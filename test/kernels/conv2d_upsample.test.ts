// conv2d over nearest-2x-upsampled x without the upsampled tensor (the UNet's Upsample2D: the
// gather reads x at (ih >> 1, iw >> 1)), every conv kernel that takes it, against the float64
// references composed (nearest upsampling, then conv2d), f32 and f16.
import { describe, expect } from 'vitest';
import { CONV2D_VARIANTS, conv2d, conv2dVariants, convGeometry } from '../../src/kernels/conv2d.js';
import { conv2dRef } from '../../src/kernels/reference/conv2d.js';
import { gpuTest } from '../helpers/gpu.js';
import { expectClose, F16_TOL, F32_TOL, randn, roundF16 } from '../helpers/numeric.js';

/** x [N, C, H, W] -> [N, C, 2H, 2W], nearest */
function up2(x: Float32Array, [N, C, H, W]: number[]): Float32Array {
  const y = new Float32Array(N * C * 4 * H * W);
  for (let p = 0; p < N * C; p++) {
    for (let i = 0; i < 2 * H; i++) for (let j = 0; j < 2 * W; j++) y[(p * 2 * H + i) * 2 * W + j] = x[(p * H + (i >> 1)) * W + (j >> 1)]!;
  }
  return y;
}

const CASES = [
  { x: [2, 8, 4, 4], w: [8, 8, 3, 3], note: 'batch 2, 4x4 -> 8x8' },
  { x: [1, 12, 3, 5], w: [16, 12, 3, 3], note: 'odd sizes, 3x5 -> 6x10' },
];

describe.each(['f32', 'f16'] as const)('conv2d upsample2x %s', (dtype) => {
  for (const c of CASES) {
    for (const v of CONV2D_VARIANTS) {
      gpuTest(`${v} x=[${c.x}] w=[${c.w}] (${c.note})`, async (ctx) => {
        if (dtype === 'f16' && !ctx.hasF16) throw new Error('adapter lacks shader-f16');
        const g = convGeometry(c.x, c.w, 1, 1, 1);
        if (!conv2dVariants(ctx, g).includes(v)) { console.warn(`${v} does not take a fused upsampling`); return; }
        const r16 = (a: Float32Array) => (dtype === 'f16' ? roundF16(a) : a);
        const n = (s: number[]) => s.reduce((a, b) => a * b, 1);
        const xs = r16(randn(n(c.x), 1)), ws = r16(randn(n(c.w), 2, 1 / Math.sqrt(c.w[1]! * 9))), bs = r16(randn(c.w[0]!, 3));
        const [N, C, H, W] = c.x as [number, number, number, number];
        const want = conv2dRef(up2(xs, c.x), [N, C, 2 * H, 2 * W], ws, c.w, { pad: 1, bias: bs });
        const x = ctx.upload(xs, c.x, dtype), w = ctx.upload(ws, c.w, dtype, true), b = ctx.upload(bs, [c.w[0]!], dtype, true);
        const y = conv2d(ctx, x, w, b, { pad: 1, upsample2x: true, variant: v });
        expect(y.shape).toEqual(want.shape);
        expectClose(await ctx.read(y), want.y, dtype === 'f32' ? F32_TOL : F16_TOL);
        ctx.release(x, y);
        ctx.destroy(w);
        ctx.destroy(b);
      }, 300_000);
    }
  }
});
