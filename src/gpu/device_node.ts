// Node: WebGPU through Dawn (npm `webgpu`). The object `create()` returns must stay reachable for
// the life of the process: if it is garbage-collected Dawn aborts on a later submit, so it is a
// module-level constant here.
import { create, globals } from 'webgpu';
import { createGpuContext, type DeviceOptions } from './device.js';
import type { GpuContext } from './context.js';
import { sleepingWait } from './gpu_wait_node.js';

Object.assign(globalThis, globals);
let dawn: GPU | null = null;

export function nodeGpu(): GPU {
  return (dawn ??= create([]));
}

export async function createNodeGpuContext(opts: DeviceOptions = {}): Promise<GpuContext> {
  const ctx = await createGpuContext(nodeGpu(), opts);
  // a software adapter's threads share the CPU with Dawn's polling: sleep between its ticks
  if (ctx.adapter.isFallbackAdapter) ctx.awaitGpu = sleepingWait;
  return ctx;
}
