// gpuTest: a vitest test that gets the process-wide GpuContext (one Dawn device per worker).
// No adapter is a FAILURE, not a skip: `npm test` provisions the software driver first, so a
// missing adapter means the environment is broken and must be reported.
import { test } from 'vitest';
import { createNodeGpuContext } from '../../src/gpu/device_node.js';
import type { GpuContext } from '../../src/gpu/context.js';

let ctxPromise: Promise<GpuContext> | null = null;

export function getCtx(): Promise<GpuContext> {
  ctxPromise ??= createNodeGpuContext().catch((e: Error) => {
    throw new Error(`${e.message}. Run 'npm test' (it installs Mesa lavapipe on Debian/Ubuntu) ` +
      `or install a Vulkan driver (mesa-vulkan-drivers >= 23) for Dawn.`);
  });
  return ctxPromise;
}

export function gpuTest(name: string, fn: (ctx: GpuContext) => Promise<void>, timeoutMs = 120_000): void {
  test(name, async () => {
    const ctx = await getCtx();
    await fn(ctx);
    await ctx.checkErrors();
  }, timeoutMs);
}
