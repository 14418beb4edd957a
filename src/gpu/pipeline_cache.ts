// Compute pipelines keyed by kernel + storage types + override constants. Creation runs inside a
// validation error scope, and shader compile messages are reported under the kernel's name.
import { ShaderStage } from './flags.js';
import { kernelSource, pipelineKey, type Kernel, type KernelTypes } from './kernel.js';

const BUFFER_TYPE: Record<Kernel['bindings'][number]['kind'], GPUBufferBindingType> = {
  uniform: 'uniform', read: 'read-only-storage', read_write: 'storage',
};

export interface CachedPipeline {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  /** unique per pipeline (keys its bind groups) */
  id: number;
}

export class PipelineCache {
  private readonly cache = new Map<string, CachedPipeline>();
  /** asynchronous creation checks; awaited (and thrown) by GpuContext.checkErrors() */
  readonly pending: Promise<string | null>[] = [];

  constructor(private readonly device: GPUDevice) {}

  get(k: Kernel, types: KernelTypes, overrides: Record<string, number>): CachedPipeline {
    const key = pipelineKey(k, types, overrides);
    const hit = this.cache.get(key);
    if (hit) return hit;
    const device = this.device;
    const code = kernelSource(k, types);
    device.pushErrorScope('validation');
    const module = device.createShaderModule({ code, label: k.name });
    const layout = device.createBindGroupLayout({
      label: k.name,
      entries: k.bindings.map((b) => ({
        binding: b.binding,
        visibility: ShaderStage.COMPUTE,
        buffer: { type: BUFFER_TYPE[b.kind] },
      })),
    });
    const pipeline = device.createComputePipeline({
      label: key,
      layout: device.createPipelineLayout({ bindGroupLayouts: [layout], label: k.name }),
      compute: { module, entryPoint: 'main', constants: overrides },
    });
    this.pending.push(
      Promise.all([device.popErrorScope(), module.getCompilationInfo()]).then(([err, info]) => {
        const msgs = info.messages.filter((m) => m.type === 'error')
          .map((m) => `  line ${m.lineNum}:${m.linePos}: ${m.message}`);
        if (!err && msgs.length === 0) return null;
        return `kernel '${k.name}' (${key}) failed to build: ${err?.message ?? ''}\n${msgs.join('\n')}`;
      }),
    );
    const entry = { pipeline, layout, id: this.cache.size + 1 };
    this.cache.set(key, entry);
    return entry;
  }
}
