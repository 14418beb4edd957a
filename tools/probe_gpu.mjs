// Prints the WebGPU adapter Dawn finds (exit 0), or why there is none (exit 1).
import { create, globals } from 'webgpu';

Object.assign(globalThis, globals);
const gpu = create([]);
const adapter = await gpu.requestAdapter();
if (!adapter) {
  console.error('no WebGPU adapter found');
  process.exit(1);
}
const i = adapter.info;
console.log(`${i.description || i.architecture || 'adapter'} (${i.vendor})${adapter.info.isFallbackAdapter ? ' [software]' : ''}`);
process.exit(0);
