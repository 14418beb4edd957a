// sleepingWait (Node, software adapters): resolves with the awaited value, rethrows its error,
// and keeps the event loop turning while it waits (a timer and an immediate-resolved promise
// settle); a real GPU readback through it returns the uploaded values.
import { expect, test } from 'vitest';
import { sleepingWait } from '../../src/gpu/gpu_wait_node.js';
import { gpuTest } from '../helpers/gpu.js';

test('sleepingWait settles like the promise it waits for, and lets timers run', async () => {
  expect(await sleepingWait(Promise.resolve(7))).toBe(7);
  await expect(sleepingWait(Promise.reject(new Error('lost')))).rejects.toThrow('lost');
  let ticks = 0;
  const timer = setInterval(() => { ticks++; }, 1);
  const later = new Promise<string>((resolve) => setTimeout(() => resolve('done'), 20));
  expect(await sleepingWait(later, 0.25)).toBe('done');
  clearInterval(timer);
  expect(ticks).toBeGreaterThan(0);
});

gpuTest('reads and syncs through the context wait hook return the data', async (ctx) => {
  const data = new Float32Array(1000).map((_, i) => i / 7);
  const t = ctx.upload(data, [1000]);
  await ctx.sync();
  const hooked = { calls: 0 };
  const prev = ctx.awaitGpu;
  ctx.awaitGpu = (p) => { hooked.calls++; return sleepingWait(p); };
  try {
    expect(await ctx.read(t)).toEqual(data);
    await ctx.sync();
    expect(hooked.calls).toBe(2);
  } finally { ctx.awaitGpu = prev; ctx.release(t); }
});
