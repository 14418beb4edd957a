import { describe, expect, test } from 'vitest';
import type { GpuContext } from '../../src/gpu/context.js';
import {
  groupNorm, groupNormAlgorithm, groupNormFitWorkgroup, groupNormTuneRequest, groupNormVariants, type GroupNormAlgorithm,
} from '../../src/kernels/group_norm.js';
import { forceVariant, settleVariants, variantKey } from '../../src/kernels/select_variant.js';
import { groupNormRef } from '../../src/kernels/reference/group_norm.js';
import { GROUP_NORM_ODD_CASES, GROUP_NORM_SD_CASES, GROUP_NORM_SMALL_CASES, type GroupNormCase } from '../cases/group_norm.js';
import { gpuTest } from '../helpers/gpu.js';
import { expectClose, F16_TOL, F32_TOL, randn, roundF16 } from '../helpers/numeric.js';

const sgOk = (ctx: GpuContext) => ctx.hasSubgroups && ctx.adapter.subgroupMinSize >= 4;

function inputs(c: GroupNormCase, f16: boolean) {
  const n = c.shape.reduce((a, b) => a * b, 1), C = c.shape[1];
  let x: Float32Array = randn(n, 1234);
  if (c.mean) for (let i = 0; i < n; i++) x[i] += c.mean;
  let gamma: Float32Array = randn(C, 99, 0.25).map((v) => 1 + v), beta: Float32Array = randn(C, 98, 0.1);
  if (f16) { x = roundF16(x); gamma = roundF16(gamma); beta = roundF16(beta); }
  return { x, gamma, beta };
}

test('algorithm selection: split only for large groups on hardware adapters, scalar for odd H*W', () => {
  expect(groupNormAlgorithm([2, 320, 64, 64], 32, false)).toBe('split');
  expect(groupNormAlgorithm([2, 320, 64, 64], 32, true)).toBe('vec4');
  expect(groupNormAlgorithm([2, 1280, 8, 8], 32, false)).toBe('vec4');
  expect(groupNormAlgorithm([1, 17, 7, 13], 1, false)).toBe('scalar');
  expect(groupNormAlgorithm([1, 32, 61, 67], 1, false)).toBe('scalar');
});

test('reference: large mean does not cancel (float64 two-pass)', () => {
  const x = new Float32Array([100, 102, 100, 102]);
  const y = groupNormRef(x, [1, 1, 2, 2], new Float32Array([1]), new Float32Array([0]), 1, 0);
  expect(Array.from(y)).toEqual([-1, 1, -1, 1]);
});

// Every case under every algorithm that applies (vec4 and split need H*W % 4 == 0), f32 and
// f16 storage; shapes over 1M values only in f32 and not with the scalar kernel (lavapipe time).
describe.each(['f32', 'f16'] as const)('group_norm %s', (dtype) => {
  const tol = dtype === 'f32' ? F32_TOL : F16_TOL;
  for (const c of [...GROUP_NORM_SD_CASES, ...GROUP_NORM_ODD_CASES, ...GROUP_NORM_SMALL_CASES]) {
    const n = c.shape.reduce((a, b) => a * b, 1);
    const big = n > 1_000_000;
    if (big && dtype === 'f16') continue;
    const hw4 = (c.shape[2] * c.shape[3]) % 4 === 0;
    const algs: GroupNormAlgorithm[] = hw4 ? (big ? ['vec4', 'split', 'sg'] : ['vec4', 'split', 'scalar', 'fit', 'sg']) : ['scalar'];
    const groupLen = (c.shape[1] / c.groups) * c.shape[2] * c.shape[3];
    for (const algorithm of algs) {
      // forcing 'split' on a small group uses a small chunk so it really splits (and is ragged)
      const chunk = algorithm === 'split' && groupLen <= 2 * 4096 ? 1000 : undefined;
      // the other adapter kind's workgroup size on the smaller shapes (this adapter's default elsewhere)
      const wg = n < 300_000 && algorithm !== 'sg' ? 256 : undefined;
      gpuTest(`x=[${c.shape}] g=${c.groups} eps=${c.eps} silu=${c.silu}${c.mean ? ` mean=${c.mean}` : ''} ${algorithm}${chunk ? ` chunk=${chunk}` : ''}${wg ? ` wg=${wg}` : ''}`, async (ctx) => {
        if (algorithm === 'sg' && !sgOk(ctx)) return;  // no subgroups on this adapter
        const f16 = dtype === 'f16';
        const { x, gamma, beta } = inputs(c, f16);
        const tx = ctx.upload(x, c.shape, dtype), tg = ctx.upload(gamma, [c.shape[1]], dtype), tb = ctx.upload(beta, [c.shape[1]], dtype);
        const y = groupNorm(ctx, tx, tg, tb, { groups: c.groups, eps: c.eps, silu: c.silu, algorithm, chunk, wg });
        expect(y.dtype).toBe(dtype);
        expectClose(await ctx.read(y), groupNormRef(x, c.shape, gamma, beta, c.groups, c.eps, c.silu), tol);
        ctx.release(tx, tg, tb, y);
      });
    }
  }
});

gpuTest('group_norm: f16 activations with f32 gamma/beta (mixed T/W)', async (ctx) => {
  const c: GroupNormCase = { shape: [2, 64, 9, 12], groups: 32, eps: 1e-5, silu: true };
  const { x, gamma, beta } = inputs(c, true);
  for (const algorithm of ['scalar', 'split'] as const) {
    const y = groupNorm(ctx, ctx.upload(x, c.shape, 'f16'), ctx.upload(gamma, [64]), ctx.upload(beta, [64]),
      { groups: 32, eps: 1e-5, silu: true, algorithm, chunk: 64 });
    expectClose(await ctx.read(y), groupNormRef(x, c.shape, gamma, beta, 32, 1e-5, true), F16_TOL, algorithm);
  }
});

gpuTest('group_norm: rejects bad shapes', async (ctx) => {
  const x = ctx.alloc([1, 6, 2, 2]), g = ctx.alloc([6]);
  expect(() => groupNorm(ctx, x, g, g, { groups: 4, eps: 1e-5 })).toThrow(/not divisible/);
  expect(() => groupNorm(ctx, x, ctx.alloc([5]), g, { groups: 3, eps: 1e-5 })).toThrow(/C=6/);
  expect(() => groupNorm(ctx, x.view([6, 4]), g, g, { groups: 3, eps: 1e-5 })).toThrow(/\[N, C, H, W\]/);
  expect(() => groupNorm(ctx, ctx.alloc([1, 6, 3, 3]), g, g, { groups: 3, eps: 1e-5, algorithm: 'vec4' })).toThrow(/H\*W % 4/);
});

test('fit workgroup: ~4 vec4 per invocation, a power of two, at most the default', () => {
  expect(groupNormFitWorkgroup(64, 64)).toBe(16);   // embedded [*, 64, 8, 8] g16: 256 values
  expect(groupNormFitWorkgroup(16, 64)).toBe(4);
  expect(groupNormFitWorkgroup(10240, 64)).toBe(64);
  expect(groupNormFitWorkgroup(3, 256)).toBe(4);
});

gpuTest('group_norm: variants measured through the variant table, forcing honoured', async (ctx) => {
  const shape = [20, 64, 8, 8], C = 64;
  const vs = groupNormVariants(ctx, shape, 16);
  expect(vs[0]).toBe('vec4');
  expect(vs.includes('sg')).toBe(sgOk(ctx));
  const req = groupNormTuneRequest(ctx, shape, 16, { T: 'f32', W: 'f32' });
  expect(req.op).toBe('group_norm');
  expect(req.shapeClass).toBe('len<=256|rows<=512');
  const { x, gamma, beta } = inputs({ shape: [20, 64, 8, 8], groups: 16, eps: 1e-5, silu: true }, false);
  const ref = groupNormRef(x, shape, gamma, beta, 16, 1e-5, true);
  const tx = ctx.upload(x, shape), tg = ctx.upload(gamma, [C]), tb = ctx.upload(beta, [C]);
  const run = async () => {
    const y = groupNorm(ctx, tx, tg, tb, { groups: 16, eps: 1e-5, silu: true });
    const out = await ctx.read(y);
    ctx.release(y);
    return out;
  };
  for (const v of vs) {
    forceVariant('group_norm', v);
    try { expectClose(await run(), ref, F32_TOL, v); } finally { forceVariant('group_norm', undefined); }
  }
  // unforced: measured (or pinned when measuring is off), then the table's choice is kept
  expectClose(await run(), ref, F32_TOL);
  await settleVariants(ctx);
  const rec = ctx.variants.get(variantKey(ctx, 'group_norm', req.shapeClass, req.dtype));
  expect(rec && vs.includes(rec.variant as never)).toBe(true);
  expectClose(await run(), ref, F32_TOL, rec!.variant);
  ctx.release(tx, tg, tb);
});
