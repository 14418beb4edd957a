import { describe, expect, test } from 'vitest';
import { add, axpby, broadcastOf, clamp, ELEMENTWISE_OPS, mul, scale, sub, unary, type ElementwiseOp } from '../../src/kernels/elementwise.js';
import { elementwiseRef, erf } from '../../src/kernels/reference/elementwise.js';
import { gpuTest } from '../helpers/gpu.js';
import { expectClose, F16_TOL, F32_TOL, randn, roundF16 } from '../helpers/numeric.js';

const CASES: { a: number[]; b: number[] }[] = [
  { a: [2, 320, 32, 32], b: [2, 320, 32, 32] },   // SD resnet residual
  { a: [2, 640, 16, 16], b: [2, 640] },           // time embedding over NCHW
  { a: [1, 1024, 320], b: [320] },                // bias over the last dim
  { a: [3, 7, 5, 11], b: [1] },                   // scalar, awkward size
  { a: [1, 17, 3, 3], b: [1, 17, 1, 1] },
];

test('erf reference matches known values', () => {
  expect(erf(0.5)).toBeCloseTo(0.5204998778130465, 14);
  expect(erf(-1.5)).toBeCloseTo(-0.9661051464753108, 14);
  expect(erf(3)).toBeCloseTo(0.9999779095030014, 14);
});

test('broadcastOf maps shapes to div/mod', () => {
  expect(broadcastOf([2, 3, 4, 5], [2, 3])).toEqual({ div: 20, mod: 6 });
  expect(broadcastOf([2, 3, 4, 5], [1, 3, 1, 1])).toEqual({ div: 20, mod: 3 });
  expect(broadcastOf([6, 7], [7])).toEqual({ div: 1, mod: 7 });
  expect(() => broadcastOf([2, 3], [4])).toThrow(/does not fit/);
});

gpuTest('in-place calls (out = a, out = b) give the out-of-place result', async (ctx) => {
  const a = randn(1000, 5), b = randn(1000, 6);
  const want = elementwiseRef('add', a, b, { div: 1, mod: 1000 });
  const ta = ctx.upload(a, [1000]), tb = ctx.upload(b, [1000]);
  expect(add(ctx, ta, tb, ta)).toBe(ta);
  expectClose(await ctx.read(ta), want, F32_TOL);
  const tc = ctx.upload(a, [1000]);
  add(ctx, tc, tb, tb);
  expectClose(await ctx.read(tb), want, F32_TOL);
  unary(ctx, 'silu', tc, tc);
  expectClose(await ctx.read(tc), elementwiseRef('silu', a, a, { div: 1, mod: 1000 }), F32_TOL);
  ctx.release(ta, tb, tc);
});

describe.each(['f32', 'f16'] as const)('elementwise %s', (dtype) => {
  const tol = dtype === 'f32' ? F32_TOL : F16_TOL;
  for (const c of CASES) {
    for (const op of Object.keys(ELEMENTWISE_OPS) as ElementwiseOp[]) {
      gpuTest(`${op} a=[${c.a}] b=[${c.b}]`, async (ctx) => {
        if (dtype === 'f16' && !ctx.hasF16) throw new Error('adapter lacks shader-f16, which the f16 path requires');
        const n = c.a.reduce((x, y) => x * y, 1), bn = c.b.reduce((x, y) => x * y, 1);
        let a = randn(n, 1, 2), b = randn(bn, 2);
        if (dtype === 'f16') { a = roundF16(a); b = roundF16(b); }
        const ta = ctx.upload(a, c.a, dtype), tb = ctx.upload(b, c.b, dtype);
        const bc = broadcastOf(c.a, c.b);
        let y;
        switch (op) {
          case 'add': y = add(ctx, ta, tb); break;
          case 'sub': y = sub(ctx, ta, tb); break;
          case 'mul': y = mul(ctx, ta, tb); break;
          case 'axpby': y = axpby(ctx, 0.7, ta, -1.3, tb); break;
          case 'scale': y = scale(ctx, ta, 0.5, 0.25); break;
          case 'clamp': y = clamp(ctx, ta, -0.5, 0.75); break;
          default: y = unary(ctx, op, ta);
        }
        const selfOnly = ['scale', 'silu', 'gelu', 'quick_gelu', 'clamp'].includes(op);
        const want = elementwiseRef(op, a, selfOnly ? a : b, selfOnly ? { div: 1, mod: n } : bc,
          op === 'axpby' ? 0.7 : op === 'scale' ? 0.5 : op === 'clamp' ? -0.5 : 1,
          op === 'axpby' ? -1.3 : op === 'scale' ? 0.25 : op === 'clamp' ? 0.75 : 1);
        expectClose(await ctx.read(y), want, tol);
        ctx.release(ta, tb, y);
      });
    }
  }
});
