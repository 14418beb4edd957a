// ctx.scope(fn): everything pooled that fn allocates is freed at the end except what it returns;
// nesting hands results outwards; hand-released tensors are not released twice; async works.
import { expect } from 'vitest';
import type { GpuContext } from '../../src/gpu/context.js';
import { add, scale } from '../../src/kernels/elementwise.js';
import { gpuTest } from '../helpers/gpu.js';

const ones = (ctx: GpuContext, n = 64) => ctx.upload(new Float32Array(n).fill(1), [n]);

gpuTest('scope frees all but the result, nested and async, without double releases', async (ctx) => {
  const before = ctx.pool.handedOut, doubles = ctx.pool.doubleReleases;
  const kept = ctx.scope(() => {
    const a = ones(ctx), b = scale(ctx, a, 2);
    const inner = ctx.scope(() => { const c = add(ctx, a, b); const d = add(ctx, c, c); ctx.release(c); return { d, note: 'x' }; });
    expect(ctx.pool.handedOut - before).toBe(3);          // a, b, d
    return [add(ctx, inner.d, a)];
  });
  expect(ctx.pool.handedOut - before).toBe(1);
  expect(Array.from(await ctx.read(kept[0]!))).toEqual(new Array(64).fill(7));   // (1 + 2) * 2 + 1
  const r = await ctx.scope(async () => {
    const a = ones(ctx); await ctx.sync();
    return scale(ctx, a, 3);
  });
  expect(Array.from(await ctx.read(r))).toEqual(new Array(64).fill(3));
  expect(ctx.pool.handedOut - before).toBe(2);
  expect(() => ctx.scope(() => { ones(ctx); throw new Error('boom'); })).toThrow('boom');
  expect(ctx.pool.handedOut - before).toBe(2);
  ctx.release(kept[0], r);
  ctx.release(r);                                           // a second release is ignored and counted
  expect(ctx.pool.handedOut).toBe(before);
  expect(ctx.pool.doubleReleases - doubles).toBe(1);
});
