// Node: WebGPU through Dawn (npm `webgpu`). The object `create()` returns must stay reachable for
// the life of the process: if it is garbage-collected Dawn aborts on a later submit, so it is a
// module-level constant here.
import { create, globals } from 'webgpu';
import { createGpuContext, type DeviceOptions } from './device.js';
import type { GpuContext } from './context.js';

Object.assign(globalThis, globals);
let dawn: GPU | null = null;

export function nodeGpu(): GPU {
  return (dawn ??= create([]));
}

export function createNodeGpuContext(opts: DeviceOptions = {}): Promise<GpuContext> {
  return createGpuContext(nodeGpu(), opts);
}
