// Shared by the UNet tests and bench/unet.ts: loading the golden tiny UNet through the real
// loaders, and running one forward from host arrays.
import { readFileSync } from 'node:fs';
import type { GpuContext } from '../../src/gpu/context.js';
import type { GpuTensor } from '../../src/gpu/tensor.js';
import { parseUNetConfig, type UNet2DConditionConfig } from '../../src/unet/config.js';
import { UNet2DConditionModel, type CaptureFn, type UNetLoadOptions } from '../../src/unet/unet_2d_condition.js';
import { fileByteSource } from '../../src/weights/byte_source_node.js';
import { loadComponentWeights, loadSingleFileWeights } from '../../src/weights/model_source.js';
import { nodeModelFiles } from '../../src/weights/model_source_node.js';
import type { Weights } from '../../src/weights/weights.js';
import { goldenFile, GOLDEN_ROOT } from './unet_synthetic.js';

export function goldenUNetConfig(): UNet2DConditionConfig {
  return parseUNetConfig(readFileSync(goldenFile('unet/config.json'), 'utf8'));
}

export type GoldenSource = 'folder' | 'single_file';

export async function goldenUNetWeights(source: GoldenSource): Promise<Weights> {
  if (source === 'folder') return loadComponentWeights(nodeModelFiles(GOLDEN_ROOT), 'unet');
  return (await loadSingleFileWeights(await fileByteSource(goldenFile('single_file/tiny-sd14-public.safetensors')))).unet;
}

export async function loadGoldenUNet(ctx: GpuContext, source: GoldenSource, opts: UNetLoadOptions = {}): Promise<UNet2DConditionModel> {
  const w = await goldenUNetWeights(source);
  try {
    return await UNet2DConditionModel.load(ctx, w, goldenUNetConfig(), opts);
  } finally {
    await w.close();
  }
}

export interface UNetInputs {
  sample: Float32Array; sampleShape: number[];
  timesteps: number[];
  ehs: Float32Array; ehsShape: number[];
}

/** One forward from host arrays; returns noise_pred as f32 (inputs and output are released). */
export async function runUNet(ctx: GpuContext, unet: UNet2DConditionModel, inp: UNetInputs, capture?: CaptureFn): Promise<Float32Array> {
  const x = ctx.upload(inp.sample, inp.sampleShape);
  const e = ctx.upload(inp.ehs, inp.ehsShape);
  const y = unet.forward(ctx, x, inp.timesteps, e, capture);
  const out = await ctx.read(y);
  ctx.release(x, e, y);
  return out;
}

/** The samples `idx` (in that order) of a batch-major array whose per-sample size is `per`. */
export function rows(a: Float32Array, per: number, idx: number[]): Float32Array {
  const out = new Float32Array(idx.length * per);
  idx.forEach((i, k) => out.set(a.subarray(i * per, (i + 1) * per), k * per));
  return out;
}

export type { GpuTensor };
