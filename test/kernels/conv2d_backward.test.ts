// conv2d input gradient (the transposed convolution): the float64 reference against central
// differences of the float64 forward, then every route (gemm for 1x1, flipped weights on the
// forward kernels, the direct kernel) against the reference in f32 and f16 storage, at SD 1.4
// layer shapes (resnet 3x3 at 320 channels, conv_in / conv_out, the stride-2 downsampler, 1x1
// shortcuts) and awkward ones (odd sizes, 3x2 kernel, uneven pads, partial tiles).
import { beforeAll, describe, expect, test } from 'vitest';
import { conv2dBackward, conv2dBackwardVariant, flipConvWeights, type Conv2dBackwardVariant } from '../../src/kernels/conv2d_backward.js';
import { convGeometry } from '../../src/kernels/conv2d.js';
import { setAutoTune } from '../../src/kernels/select_variant.js';
import { conv2dBackwardRef, conv2dRef64, convOutShape, flipConvWeightsRef, type ConvRefGeometry } from '../../src/kernels/reference/conv2d_backward.js';
import { gpuTest } from '../helpers/gpu.js';
import { expectClose, F16_TOL, F32_TOL, randn, roundF16 } from '../helpers/numeric.js';
import { expectFd, fdError } from '../style/fd.js';

beforeAll(() => setAutoTune(false));

type Pad = number | [number, number, number, number];
interface Case { x: [number, number, number, number]; w: [number, number, number, number]; stride: number; pad: Pad; acc: boolean; note: string }

const CASES: Case[] = [
  { x: [1, 320, 16, 16], w: [320, 320, 3, 3], stride: 1, pad: 1, acc: true, note: 'resnet conv, 320 ch' },
  { x: [2, 4, 24, 24], w: [320, 4, 3, 3], stride: 1, pad: 1, acc: false, note: 'conv_in: 320 -> 4 channels of dx' },
  { x: [1, 320, 16, 16], w: [4, 320, 3, 3], stride: 1, pad: 1, acc: false, note: 'conv_out: 4 -> 320 channels of dx' },
  { x: [1, 320, 16, 16], w: [320, 320, 3, 3], stride: 2, pad: 1, acc: false, note: 'downsampler (diffusers pad 1)' },
  { x: [2, 64, 17, 15], w: [64, 64, 3, 3], stride: 2, pad: 1, acc: true, note: 'downsampler, odd sizes' },
  { x: [2, 96, 9, 7], w: [80, 96, 1, 1], stride: 1, pad: 0, acc: true, note: '1x1 shortcut, odd spatial' },
  { x: [1, 32, 16, 16], w: [32, 32, 3, 3], stride: 2, pad: [0, 1, 0, 1], acc: false, note: 'VAE encoder downsampler pad' },
  { x: [1, 3, 11, 13], w: [5, 3, 3, 3], stride: 1, pad: 1, acc: true, note: 'awkward: 3 channels' },
  { x: [1, 6, 5, 7], w: [7, 6, 3, 2], stride: 2, pad: [2, 0, 1, 1], acc: false, note: 'awkward: 3x2 kernel, uneven pad' },
  { x: [2, 5, 6, 4], w: [3, 5, 3, 3], stride: 1, pad: [0, 2, 1, 0], acc: true, note: 'awkward: uneven stride-1 pad' },
];

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

describe('reference vs finite differences (float64)', () => {
  const small: ConvRefGeometry[] = [
    { x: [2, 3, 6, 5], w: [4, 3, 3, 3], stride: 1, pad: 1 },
    { x: [1, 4, 7, 8], w: [3, 4, 3, 3], stride: 2, pad: 1 },
    { x: [1, 2, 6, 6], w: [3, 2, 3, 3], stride: 2, pad: [0, 1, 0, 1] },
    { x: [2, 5, 3, 4], w: [6, 5, 1, 1] },
    { x: [1, 2, 5, 7], w: [2, 2, 3, 2], stride: 2, pad: [2, 0, 1, 1] },
  ];
  for (const g of small) {
    test(`x=[${g.x}] w=[${g.w}] s=${g.stride ?? 1} pad=${JSON.stringify(g.pad ?? 0)}`, () => {
      const x = randn(size(g.x), 1), w = randn(size(g.w), 2), dy = randn(size(convOutShape(g)), 3);
      const r = fdError((v) => conv2dRef64(v, w, g), x, dy, conv2dBackwardRef(dy, w, g), 4);
      expectFd(r, 1e-8, 'conv2d_backward reference');
    });
  }
  test('acc is added; flipped weights as stated', () => {
    const g = { x: [1, 2, 3, 3], w: [1, 2, 3, 3], pad: 1 };
    const acc = randn(18, 5), dy = new Float32Array(9);
    expect(Array.from(conv2dBackwardRef(dy, randn(18, 6), g, acc))).toEqual(Array.from(acc));
    const w = Float64Array.from({ length: 2 * 3 * 2 * 2 }, (_, i) => i);
    const wf = flipConvWeightsRef(w, [2, 3, 2, 2]);
    expect(Array.from(wf.subarray(0, 8))).toEqual([3, 2, 1, 0, 15, 14, 13, 12]);  // c=0: o=0, o=1 rotated
  });
});

test('route selection', () => {
  expect(conv2dBackwardVariant(convGeometry([1, 8, 4, 4], [8, 8, 1, 1]))).toBe('gemm');
  expect(conv2dBackwardVariant(convGeometry([1, 8, 4, 4], [8, 8, 3, 3], 1, 1))).toBe('flipped');
  expect(conv2dBackwardVariant(convGeometry([1, 8, 4, 4], [8, 8, 3, 3], 2, 1))).toBe('direct');
  expect(conv2dBackwardVariant(convGeometry([1, 8, 4, 4], [8, 8, 1, 1], 1, 1))).toBe('direct');  // pad 1 >= kernel 1
});

describe('GPU vs reference', () => {
  for (const c of CASES) {
    const g = { x: c.x, w: c.w, stride: c.stride, pad: c.pad };
    const geo = convGeometry(c.x, c.w, c.stride, c.pad);
    const routes: Conv2dBackwardVariant[] = [...new Set([conv2dBackwardVariant(geo), 'direct' as const])];
    gpuTest(`${c.note}: x=[${c.x}] w=[${c.w}] s=${c.stride} pad=${JSON.stringify(c.pad)} acc=${c.acc} (${routes})`, async (ctx) => {
      // f16-representable inputs, so one reference serves both storage types
      const ys = convOutShape(g);
      const w = roundF16(randn(size(c.w), 7, 0.05)), dy = roundF16(randn(size(ys), 8)), acc = c.acc ? roundF16(randn(size(c.x), 9)) : null;
      const ref = conv2dBackwardRef(dy, w, g, acc);
      for (const dtype of ctx.hasF16 ? ['f32', 'f16'] as const : ['f32'] as const) {
        const tw = ctx.upload(w, c.w, dtype), tdy = ctx.upload(dy, ys, dtype), tacc = acc ? ctx.upload(acc, c.x, dtype) : undefined;
        for (const variant of routes) {
          const dx = conv2dBackward(ctx, tdy, tw, c.x, { stride: c.stride, pad: c.pad, acc: tacc, variant });
          expect(dx.shape).toEqual(c.x);
          expect(dx.dtype).toBe(dtype);
          expectClose(await ctx.read(dx), ref, dtype === 'f32' ? F32_TOL : F16_TOL, `${variant} ${dtype}`);
          ctx.release(dx);
        }
        ctx.release(tw, tdy, ...(tacc ? [tacc] : []));
      }
    });
  }

  gpuTest('f16 activations with f32 weights (mixed T/W), every route', async (ctx) => {
    if (!ctx.hasF16) return;
    const g = { x: [2, 8, 7, 6], w: [12, 8, 3, 3], stride: 1, pad: 1 };
    const w = randn(size(g.w), 10, 0.2), dy = roundF16(randn(size(convOutShape(g)), 11));
    const ref = conv2dBackwardRef(dy, w, g);
    for (const variant of ['flipped', 'direct'] as const) {
      const dx = conv2dBackward(ctx, ctx.upload(dy, convOutShape(g), 'f16'), ctx.upload(w, g.w), g.x, { pad: 1, variant });
      expectClose(await ctx.read(dx), ref, F16_TOL, variant);
    }
  });

  gpuTest('flipConvWeights matches the reference', async (ctx) => {
    const w = randn(5 * 3 * 3 * 2, 12);
    expectClose(await ctx.read(flipConvWeights(ctx, ctx.upload(w, [5, 3, 3, 2]))), flipConvWeightsRef(w, [5, 3, 3, 2]), { atol: 0, rtol: 0 });
  });

  gpuTest('shape errors name the tensor', async (ctx) => {
    const w = ctx.alloc([8, 4, 3, 3]);
    expect(() => conv2dBackward(ctx, ctx.alloc([1, 8, 5, 5]), w, [1, 4, 6, 6], { pad: 1 })).toThrow(/dy \[1, ?8, ?5, ?5\]/);
    expect(() => conv2dBackward(ctx, ctx.alloc([1, 8, 6, 6]), w, [1, 5, 6, 6], { pad: 1 })).toThrow(/does not fit w/);
    expect(() => conv2dBackward(ctx, ctx.alloc([1, 8, 6, 6]), w, [1, 4, 6, 6], { pad: 1, acc: ctx.alloc([1, 4, 6, 5]) })).toThrow(/acc/);
    expect(() => conv2dBackward(ctx, ctx.alloc([1, 8, 3, 3]), w, [1, 4, 6, 6], { pad: 1, stride: 2, variant: 'flipped' })).toThrow(/flipped/);
  });
});
