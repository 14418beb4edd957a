// Getting a GPUDevice from any WebGPU implementation (navigator.gpu in browsers, Dawn in Node,
// see device_node.ts). We ask for the adapter's maximum limits and the optional features that
// kernels use when offered, so big bindings and f16 work wherever the hardware allows.
import { GpuContext, type AdapterDescription } from './context.js';

const OPTIONAL_FEATURES: GPUFeatureName[] = ['shader-f16', 'subgroups' as GPUFeatureName, 'timestamp-query'];

/** Limits copied from the adapter (at their maximum) into the device request. */
const LIMIT_NAMES = [
  'maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ', 'maxComputeWorkgroupsPerDimension', 'maxStorageBuffersPerShaderStage',
  'maxUniformBufferBindingSize', 'maxBindGroups',
] as const;

export class NoAdapterError extends Error {}

export interface DeviceOptions {
  /** refuse f16 even when the adapter offers it (tests of the f32 path, debugging) */
  disableF16?: boolean;
  powerPreference?: GPUPowerPreference;
}

export async function createGpuContext(gpu: GPU | undefined, opts: DeviceOptions = {}): Promise<GpuContext> {
  if (!gpu) throw new NoAdapterError('WebGPU is not available here (no navigator.gpu)');
  const adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
  if (!adapter) throw new NoAdapterError('no WebGPU adapter was found');
  const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f))
    .filter((f) => !(opts.disableF16 && f === 'shader-f16'));
  const requiredLimits: Record<string, number> = {};
  for (const name of LIMIT_NAMES) {
    const v = (adapter.limits as unknown as Record<string, number>)[name];
    if (typeof v === 'number') requiredLimits[name] = v;
  }
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits, label: 'tether' });
  const info = (adapter as GPUAdapter & { info?: GPUAdapterInfo }).info;
  const extra = info as unknown as { subgroupMinSize?: number; subgroupMaxSize?: number } | undefined;
  const description: AdapterDescription = {
    vendor: info?.vendor ?? '',
    architecture: info?.architecture ?? '',
    description: info?.description ?? '',
    isFallbackAdapter: Boolean((adapter as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter
      ?? (info as unknown as { isFallbackAdapter?: boolean })?.isFallbackAdapter),
    subgroupMinSize: extra?.subgroupMinSize ?? 0,
    subgroupMaxSize: extra?.subgroupMaxSize ?? 0,
  };
  return new GpuContext(device, description);
}

/** One line naming the adapter, for logs and benchmark tables. */
export function adapterName(a: AdapterDescription): string {
  const parts = [a.description || a.architecture || 'unknown adapter', a.vendor && `(${a.vendor})`];
  if (a.isFallbackAdapter) parts.push('[software]');
  return parts.filter(Boolean).join(' ');
}
