// Recorded dispatches are submitted every ctx.submitEvery (SUBMIT_EVERY) so the adapter starts
// while the host records the rest; the results are those of one submit at the readback, bit for
// bit, whatever the chunk size (same kernels, same queue order; the params arena restarts at slot 0
// after each submit, and queue.writeBuffer is ordered between submits).
import { expect } from 'vitest';
import { SUBMIT_EVERY } from '../../src/gpu/context.js';
import { add, scale } from '../../src/kernels/elementwise.js';
import { gpuTest } from '../helpers/gpu.js';

gpuTest('a chain of dispatches submits every submitEvery and reads the same bits at any chunk size', async (ctx) => {
  expect(SUBMIT_EVERY).toBe(16);
  const x = ctx.upload(Float32Array.from({ length: 256 }, (_, i) => Math.sin(i) * 3), [256], 'f32', true);
  await ctx.sync();
  const queue = ctx.device.queue;
  const submit = queue.submit.bind(queue);
  let submits = 0;
  queue.submit = (cbs: Iterable<GPUCommandBuffer>) => { submits++; submit(cbs); };
  // 40 dispatches, each reading the one before (pooled buffers released and reused on the way)
  const chain = async (every: number) => {
    ctx.submitEvery = every;
    submits = 0;
    let y = scale(ctx, x, 1.0001);
    for (let i = 1; i < 40; i++) {
      const next = i % 2 ? add(ctx, y, x) : scale(ctx, y, 0.37 + i / 97);
      ctx.release(y);
      y = next;
    }
    const recorded = submits;
    const out = await ctx.read(y);
    ctx.release(y);
    return { out, recorded, total: submits };
  };
  try {
    const once = await chain(1e9);
    expect(once.recorded).toBe(0);                      // nothing submitted before the readback
    const chunked = await chain(SUBMIT_EVERY);
    expect(chunked.recorded).toBe(Math.floor(40 / SUBMIT_EVERY));
    expect(chunked.total).toBe(chunked.recorded + 1);   // the readback submits the rest
    const each = await chain(1);
    expect(each.recorded).toBe(40);
    expect(Buffer.from(chunked.out.buffer).equals(Buffer.from(once.out.buffer))).toBe(true);
    expect(Buffer.from(each.out.buffer).equals(Buffer.from(once.out.buffer))).toBe(true);
    expect(once.out.every(Number.isFinite)).toBe(true);
  } finally {
    queue.submit = submit;
    ctx.submitEvery = SUBMIT_EVERY;
    ctx.destroy(x);
  }
});
