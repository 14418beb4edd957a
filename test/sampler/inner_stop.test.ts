// K 'auto' (inner/stopping.ts): the inner steps stop when no sample's residual max|d| improved on
// its best by tol x lr[k-1] (relative). Closed-form cases: the rule's threshold scales with the
// learning rate of the step just taken, the best is per sample, K stays the caller's cap.
import { describe, expect } from 'vitest';
import type { GpuContext } from '../../src/gpu/context.js';
import { AUTO_K_TOL, innerStop } from '../../src/sampler/inner/stopping.js';
import { gpuTest } from '../helpers/gpu.js';

async function decisions(ctx: GpuContext, norms: number[][], lr: number[], tol = AUTO_K_TOL): Promise<boolean[]> {
  const stop = innerStop(ctx, 'auto', tol, lr), out: boolean[] = [];
  for (let k = 0; k < norms.length; k++) {
    const t = ctx.upload(Float32Array.from(norms[k]!), [norms[k]!.length]);
    out.push(await stop.proceed(k, t));
    ctx.release(t);
  }
  return out;
}

describe('innerStop auto', () => {
  gpuTest('the first step runs unless every residual is zero', async (ctx) => {
    expect(await decisions(ctx, [[1, 2]], [0.1])).toEqual([true]);
    expect(await decisions(ctx, [[0, 0]], [0.1])).toEqual([false]);
  });
  gpuTest('threshold = tol x lr of the last step: a 3% improvement continues at lr 0.05, stops at lr 0.1', async (ctx) => {
    // tol 0.5: lr 0.1 needs 5%, lr 0.05 needs 2.5%
    expect(await decisions(ctx, [[1], [0.97]], [0.1, 0.1])).toEqual([true, false]);
    expect(await decisions(ctx, [[1], [0.97]], [0.05, 0.05])).toEqual([true, true]);
    expect(await decisions(ctx, [[1], [0.9], [0.87]], [0.1, 0.1, 0.1])).toEqual([true, true, false]);
  });
  gpuTest('per-sample best: one sample still improving keeps the batch going; a worse step does not reset the best', async (ctx) => {
    expect(await decisions(ctx, [[1, 1], [0.99, 0.8]], [0.1, 0.1])).toEqual([true, true]);
    // 1 -> 1.2 (worse) -> 0.97: 3% under the best (1), below the 5% needed
    expect(await decisions(ctx, [[1], [1.2], [0.97]], [0.1, 0.1, 0.1])).toEqual([true, false, false]);
  });
  gpuTest('per sample (active): each stops on its own and stays stopped; null = all go on, [] = none', async (ctx) => {
    const stop = innerStop(ctx, 'auto', AUTO_K_TOL, [0.1, 0.1, 0.1, 0.1]), out: (number[] | null)[] = [];
    // sample 0 improves 10% then stalls; sample 1 keeps improving; sample 2 starts at zero
    for (const norms of [[1, 1, 0], [0.9, 0.8, 0], [0.89, 0.6, 0], [0.5, 0.4, 0], [0.4, 0.39, 0]]) {
      const t = ctx.upload(Float32Array.from(norms), [3]);
      out.push(await stop.active(out.length, t));
      ctx.release(t);
    }
    expect(out).toEqual([[0, 1], [0, 1], [1], [1], []]);   // 0 stalls at 0.89 (< 5%) and does not come back at 0.5
    const all = innerStop(ctx, 'auto', AUTO_K_TOL, [0.1]), t = ctx.upload(Float32Array.from([1, 2]), [2]);
    expect(await all.active(0, t)).toBeNull();
    expect(await innerStop(ctx, 'fixed').active(0, t)).toBeNull();
    ctx.release(t);
  });
  gpuTest("'fixed' always proceeds", async (ctx) => {
    const stop = innerStop(ctx, 'fixed');
    const t = ctx.upload(Float32Array.from([0]), [1]);
    expect(await stop.proceed(3, t)).toBe(true);
    ctx.release(t);
  });
});
