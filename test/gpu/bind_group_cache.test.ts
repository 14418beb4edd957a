// Bind groups are reused when a dispatch repeats (same pipeline, params slot, buffers and sizes),
// never across different buffers, sizes or slots; destroying a buffer (by the context or the
// pool's trim) drops its bind groups; the cache is bounded, least recently used first; results
// are those of fresh bind groups.
import { expect } from 'vitest';
import { BindGroupCache } from '../../src/gpu/bind_group_cache.js';
import { BufferUsage } from '../../src/gpu/flags.js';
import { add, scale } from '../../src/kernels/elementwise.js';
import { gpuTest } from '../helpers/gpu.js';

gpuTest('a repeated dispatch reuses its bind group; other buffers, sizes and slots do not', async (ctx) => {
  const a = ctx.upload(new Float32Array(64).map((_, i) => i), [64], 'f32', true);
  const b = ctx.upload(new Float32Array(64).fill(2), [64], 'f32', true);
  const c = ctx.upload(new Float32Array(32).fill(5), [32], 'f32', true);
  await ctx.sync();
  const cache = ctx.bindGroups;
  const run = async () => { const y = add(ctx, a, b); const v = await ctx.read(y); ctx.release(y); return v; };
  const first = await run();
  const { hits, misses } = cache;
  const second = await run();
  expect(Array.from(second)).toEqual(Array.from(first));
  expect(Array.from(second)).toEqual(Array.from({ length: 64 }, (_, i) => i + 2));
  expect(cache.misses - misses).toBe(0);       // same pooled output buffer, slot 0, same inputs
  expect(cache.hits - hits).toBe(1);
  const m0 = cache.misses;
  const y = add(ctx, b, a);                     // other buffer order: a new bind group
  const z = scale(ctx, c, 3);                   // other kernel, other sizes
  expect(Array.from(await ctx.read(z))).toEqual(new Array(32).fill(15));
  expect(Array.from(await ctx.read(y))).toEqual(Array.from(first));
  expect(cache.misses - m0).toBe(2);
  const size = cache.size;
  ctx.destroy(c);                               // its bind groups go with it
  expect(cache.size).toBeLessThan(size);
  ctx.release(y, z);
  ctx.pool.trim();                              // trimmed pool buffers too
  const after = cache.size;
  expect(await run()).toEqual(first);           // new pooled buffers: rebuilt, still right
  expect(cache.size).toBeGreaterThanOrEqual(after);
  ctx.destroy(a); ctx.destroy(b);
});

gpuTest('the cache is bounded and evicts the least recently used bind group', async (ctx) => {
  const cache = new BindGroupCache(ctx.device, 2);
  const layout = ctx.device.createBindGroupLayout({ entries: [{ binding: 0, visibility: 4, buffer: { type: 'read-only-storage' } }] });
  const bufs = [0, 1, 2].map(() => ctx.device.createBuffer({ size: 256, usage: BufferUsage.STORAGE }));
  const get = (i: number) => cache.get(1, layout, [0], [bufs[i]!], [256], [0]);
  const g0 = get(0); get(1);
  expect(get(0)).toBe(g0);                      // a hit refreshes 0: 1 is now the oldest
  get(2);
  expect(cache.size).toBe(2);
  expect(cache.misses).toBe(3);
  expect(get(0)).toBe(g0);
  get(1);                                        // evicted: created again
  expect(cache.misses).toBe(4);
  cache.forget(bufs[1]!);
  expect(cache.size).toBe(1);
  for (const b of bufs) b.destroy();
});
