// One dispatch's bind-group entries, resolved from a kernel's declared bindings: the params
// struct packed into the uniform arena at this dispatch's slot, every storage binding matched by
// name (missing, unknown and over-the-limit bindings refused, naming the kernel and binding), and
// the bytes of pooled tensors it writes (for the dispatch counts). Errors are thrown with if/throw,
// not check(): a template message would be formatted on every dispatch.
import { packParams, type Kernel } from './kernel.js';
import { GpuTensor } from './tensor.js';

export interface ResolvedBindings {
  slots: number[]; buffers: GPUBuffer[]; sizes: number[]; offsets: number[];
  /** bytes of pooled tensors bound read_write (whole bindings: an upper bound) */
  written: number;
}

export interface UniformArena { buffer: GPUBuffer; view: DataView; offset: number }

export function resolveBindings(kernel: Kernel, bindings: Record<string, GpuTensor | GPUBuffer>, params: Record<string, number>,
                                arena: UniformArena, maxBinding: number): ResolvedBindings {
  const out: ResolvedBindings = { slots: [], buffers: [], sizes: [], offsets: [], written: 0 };
  for (const b of kernel.bindings) {
    if (b.kind === 'uniform') {
      packParams(kernel, params, arena.view, arena.offset);
      out.slots.push(b.binding); out.buffers.push(arena.buffer); out.offsets.push(arena.offset); out.sizes.push(kernel.paramBytes);
      continue;
    }
    const r = bindings[b.name];
    if (!r) throw new Error(`kernel ${kernel.name}: binding '${b.name}' not given`);
    const buffer = r instanceof GpuTensor ? r.buffer : r;
    const size = r instanceof GpuTensor ? Math.ceil(r.byteLength / 4) * 4 : buffer.size;
    if (b.kind === 'read_write' && r instanceof GpuTensor && r.pooled) out.written += r.byteLength;
    if (size > maxBinding) {
      throw new Error(`kernel ${kernel.name}: binding '${b.name}' is ${size} bytes, over this device's ` +
        `maxStorageBufferBindingSize (${maxBinding})`);
    }
    out.slots.push(b.binding); out.buffers.push(buffer); out.offsets.push(0); out.sizes.push(size);
  }
  for (const name of Object.keys(bindings)) {
    if (!kernel.bindings.some((b) => b.name === name)) throw new Error(`kernel ${kernel.name}: unknown binding '${name}'`);
  }
  return out;
}
