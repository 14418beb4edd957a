// conv2d: every variant against the float64 CPU reference (f32 and f16 storage) on SD layer
// shapes and awkward ones; the 1x1 route through the GEMM variants; the binding-limit error.
import { describe, expect } from 'vitest';
import type { GpuContext } from '../../src/gpu/context.js';
import { CONV2D_VARIANTS, conv2d, conv2dTuneRequest, conv2dVariants, convGeometry, type Conv2dVariant } from '../../src/kernels/conv2d.js';
import { tuneVariant } from '../../src/kernels/select_variant.js';
import { MATMUL_VARIANTS, type MatmulVariant } from '../../src/kernels/matmul.js';
import { conv2dRef } from '../../src/kernels/reference/conv2d.js';
import { CONV2D_CASES, type Conv2dCase } from '../cases/conv2d.js';
import { gpuTest } from '../helpers/gpu.js';
import { expectClose, F16_TOL, F32_TOL, randn, roundF16 } from '../helpers/numeric.js';

type DT = 'f32' | 'f16';
const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** f16 runs the cheaper cases only: the two big SD layers dominate the reference's time. */
const F16_CASES = CONV2D_CASES.filter((c) => numel(c.x) * c.w[0] * c.w[2] * c.w[3] < 5e7);

const data = new Map<string, { x: Float32Array; w: Float32Array; b?: Float32Array; r?: Float32Array; want: Float32Array; shape: number[] }>();
function caseData(c: Conv2dCase, dtype: DT) {
  const key = `${c.x}|${c.w}|${c.stride}|${c.pad}|${dtype}`;
  let d = data.get(key);
  if (!d) {
    const r16 = (a: Float32Array) => (dtype === 'f16' ? roundF16(a) : a);
    const x = r16(randn(numel(c.x), 11)), w = r16(randn(numel(c.w), 12, 1 / Math.sqrt(c.w[1] * c.w[2] * c.w[3])));
    const b = c.bias ? r16(randn(c.w[0], 13)) : undefined;
    const probe = conv2dRef(new Float32Array(c.x[1] * c.x[2] * c.x[3]), [1, c.x[1], c.x[2], c.x[3]],
      new Float32Array(c.w[1] * c.w[2] * c.w[3]), [1, c.w[1], c.w[2], c.w[3]], { stride: c.stride, pad: c.pad });
    const shape = [c.x[0], c.w[0], probe.shape[2], probe.shape[3]];
    const r = c.residual ? r16(randn(numel(shape), 14)) : undefined;
    const ref = conv2dRef(x, c.x, w, c.w, { stride: c.stride, pad: c.pad, bias: b, residual: r });
    d = { x, w, b, r, want: ref.y, shape: ref.shape };
    data.set(key, d);
  }
  return d;
}

async function check(ctx: GpuContext, c: Conv2dCase, dtype: DT, variant: Conv2dVariant | 'gemm', gemmVariant?: MatmulVariant): Promise<void> {
  if (dtype === 'f16' && !ctx.hasF16) throw new Error('adapter lacks shader-f16, which the f16 path requires');
  if ((variant === 'subgroup' || gemmVariant === 'subgroup') && !ctx.hasSubgroups) { console.warn('subgroup variant skipped: no subgroups on this adapter'); return; }
  if (variant === 'rows' && !conv2dVariants(ctx, convGeometry(c.x, c.w, c.stride, c.pad)).includes('rows')) return;  // outside its limits
  const d = caseData(c, dtype);
  const x = ctx.upload(d.x, c.x, dtype), w = ctx.upload(d.w, c.w, dtype, true);
  const b = d.b && ctx.upload(d.b, [c.w[0]], dtype, true);
  const r = d.r && ctx.upload(d.r, d.shape, dtype);
  const y = conv2d(ctx, x, w, b, { stride: c.stride, pad: c.pad, residual: r, variant, gemmVariant });
  expect(y.shape).toEqual(d.shape);
  expectClose(await ctx.read(y), d.want, dtype === 'f32' ? F32_TOL : F16_TOL);
  ctx.release(x, r, y);
  ctx.destroy(w);
  if (b) ctx.destroy(b);
}

const label = (c: Conv2dCase) =>
  `x=[${c.x}] w=[${c.w}] s${c.stride} pad=${JSON.stringify(c.pad)}${c.bias ? ' +bias' : ''}${c.residual ? ' +residual' : ''} (${c.note})`;

describe.each(['f32', 'f16'] as const)('conv2d %s', (dtype) => {
  for (const c of dtype === 'f32' ? CONV2D_CASES : F16_CASES) {
    for (const v of CONV2D_VARIANTS) gpuTest(`${v} ${label(c)}`, (ctx) => check(ctx, c, dtype, v), 300_000);
  }
});

describe('conv2d 1x1 through the GEMM variants', () => {
  const c = CONV2D_CASES.find((k) => k.w[2] === 1 && k.w[3] === 1)!;
  for (const v of MATMUL_VARIANTS) gpuTest(`gemm/${v} ${label(c)}`, (ctx) => check(ctx, c, 'f32', 'gemm', v));
  for (const v of ['tiled', 'subgroup'] as const) gpuTest(`f16 gemm/${v} ${label(c)}`, (ctx) => check(ctx, c, 'f16', 'gemm', v));

  gpuTest('1x1 convs measure the GEMM variants alongside the conv kernels', async (ctx) => {
    const req = conv2dTuneRequest(ctx, convGeometry(c.x, c.w), { T: 'f32', W: 'f32' });
    expect(req.candidates).toEqual(expect.arrayContaining(['tiled', 'regblock', 'gemm/naive', 'gemm/tiled', 'gemm/regblock']));
    expect(req.candidates.includes('rows')).toBe(false);  // W = 7: input rows are not 4-aligned
    const chosen = await tuneVariant(ctx, req);
    expect(req.candidates).toContain(chosen);
    const k3 = conv2dTuneRequest(ctx, convGeometry(c.x, [8, c.x[1], 3, 3], 1, 1), { T: 'f32', W: 'f32' });
    expect(k3.candidates.some((v) => v.startsWith('gemm/'))).toBe(false);
  });
});

describe('conv2d shape classes', () => {
  gpuTest('a small model\'s layers get classes of their own; SD 1.4\'s levels share a few', async (ctx) => {
    const cls = (x: number[], w: number[], pad = 1) => conv2dTuneRequest(ctx, convGeometry(x, w, 1, pad), { T: 'f32', W: 'f32' }).shapeClass;
    // the embedded UNet: 32 channels at 8x8, 64 at 2x2, the 96 -> 32 concat conv: one class each
    // (one class measured on the first of them gave the others a variant 2-4x slower)
    const embedded = [cls([1, 32, 8, 8], [32, 32, 3, 3]), cls([1, 64, 2, 2], [64, 64, 3, 3]), cls([1, 96, 8, 8], [32, 96, 3, 3])];
    expect(new Set(embedded).size).toBe(3);
    expect(embedded[0]).toBe('k3x3s1|c<=32|o<=32|p<=64');
    // SD 1.4 at 512x512: its 320-channel convs at 64x64 (batch 2, classifier-free guidance) are one
    // class with conv_in's 4 -> 320 apart; the 1280-channel levels share theirs with the concat inputs
    expect(cls([2, 320, 64, 64], [320, 320, 3, 3])).toBe('k3x3s1|c<=320|o<=320|p>4096');
    expect(cls([2, 640, 64, 64], [320, 640, 3, 3])).toBe('k3x3s1|c<=640|o<=320|p>4096');
    expect(cls([2, 4, 64, 64], [320, 4, 3, 3])).toBe('k3x3s1|c<=16|o<=320|p>4096');
    expect(cls([2, 2560, 8, 8], [1280, 2560, 3, 3])).toBe(cls([2, 1280, 8, 8], [1280, 1280, 3, 3]));  // up-path concat input
  });
});

describe('conv2d large grids', () => {
  // 266240 pixels: more than 65535 row blocks of 4, so the GEMM kernels fold rows into z
  const c: Conv2dCase = { x: [1, 4, 512, 520], w: [4, 4, 1, 1], stride: 1, pad: 0, bias: true, residual: false, note: '1x1 at 512x520' };
  for (const v of ['regblock', 'subgroup'] as const) gpuTest(`gemm/${v} ${label(c)}`, (ctx) => check(ctx, c, 'f32', 'gemm', v));
  for (const v of ['subgroup', 'rows'] as const) gpuTest(`${v} ${label(c)}`, (ctx) => check(ctx, c, 'f32', v));
});

describe('conv2d errors', () => {
  gpuTest('a tensor over the binding limit is refused, naming the limit', async (ctx) => {
    const lim = ctx.limits.maxStorageBufferBindingSize;
    const C = 2, HW = Math.ceil(lim / 4 / C / 1024 + 1) * 1024;  // just over the limit in f32
    const x = ctx.alloc([1, C, HW / 1024, 1024]);
    const w = ctx.upload(new Float32Array(C * C * 9), [C, C, 3, 3]);
    expect(() => conv2d(ctx, x, w, undefined, { pad: 1, variant: 'tiled' })).toThrow(/maxStorageBufferBindingSize/);
    ctx.release(x, w);
  });

  gpuTest('shape and variant errors', async (ctx) => {
    const x = ctx.upload(new Float32Array(2 * 3 * 4 * 4), [2, 3, 4, 4]);
    expect(() => conv2d(ctx, x, ctx.upload(new Float32Array(5 * 2 * 9), [5, 2, 3, 3]))).toThrow(/does not fit w/);
    expect(() => conv2d(ctx, x, ctx.upload(new Float32Array(5 * 3 * 9), [5, 3, 3, 3]), undefined, { variant: 'gemm' }))
      .toThrow(/1x1 stride-1 unpadded convs only/);
    expect(() => conv2d(ctx, x, ctx.upload(new Float32Array(5 * 3 * 25), [5, 3, 5, 5]))).toThrow(/empty output/);
  });
});
