// SD 1.4's VAE at 512 x 512 (decode, encode and the decoder VJP) on a device whose
// maxStorageBufferBindingSize is 128 MiB, checked
// without running a shader: a recording GpuContext stands in for the GPU, so the real model code
// and kernel wrappers allocate, copy and dispatch as usual while the mock checks every binding
// against the limit and tracks live activation memory. (TETHER_SLOW=512 in vae_sd14.test.ts runs
// the same decode on the real adapter.)
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import type { GpuContext } from '../../src/gpu/context.js';
import { DTYPE_BYTES, GpuTensor, numel, shapeStr, type DType } from '../../src/gpu/tensor.js';
import type { Kernel } from '../../src/gpu/kernel.js';
import { VariantTable } from '../../src/gpu/variant_table.js';
import { AutoencoderKL } from '../../src/vae/autoencoder_kl.js';
import { parseVaeConfig } from '../../src/vae/config.js';
import { openSafetensors } from '../../src/weights/safetensors.js';
import { Weights } from '../../src/weights/weights.js';
import { goldenFile, syntheticSafetensors } from './unet_synthetic.js';

const MiB = 2 ** 20;

interface DryStats { maxBinding: number; maxBindingAt: string; live: number; peak: number; dispatches: number; copies: number }

/**
 * A GpuContext look-alike that records instead of computing (enough for the model code). Its
 * adapter looks like lavapipe (software, subgroups of 8, 128 MiB bindings), so kernel wrappers
 * pick the variants they would pick there.
 */
function dryContext(bindingLimit: number): { ctx: GpuContext; stats: DryStats } {
  const stats: DryStats = { maxBinding: 0, maxBindingAt: '', live: 0, peak: 0, dispatches: 0, copies: 0 };
  const buffer = (size: number) => ({ size, destroy() {} }) as unknown as GPUBuffer;
  const limits = {
    maxStorageBufferBindingSize: bindingLimit, maxBufferSize: 4 * 2 ** 30, maxComputeWorkgroupsPerDimension: 65535,
    maxComputeWorkgroupStorageSize: 32768, maxComputeInvocationsPerWorkgroup: 1024, maxComputeWorkgroupSizeX: 1024,
    maxComputeWorkgroupSizeY: 1024, maxComputeWorkgroupSizeZ: 64, minUniformBufferOffsetAlignment: 256,
  } as unknown as GPUSupportedLimits;
  const path: string[] = [];
  // live pooled buffers, and the ones each open scope() allocated (ctx.scope's contract: all but
  // the result's tensors are freed when it ends; a buffer is never released twice)
  const live = new Set<GPUBuffer>();
  const scopes: Set<GpuTensor>[] = [];
  const ctx = {
    hasF16: true, hasSubgroups: true, hasTimestamps: false, limits, modulePath: path, residentBytes: 0, variants: new VariantTable(),
    adapter: { vendor: 'dry', architecture: 'dry', description: 'dry run (lavapipe-like)', isFallbackAdapter: true, subgroupMinSize: 8, subgroupMaxSize: 8 },
    device: { createBuffer: (d: { size: number }) => buffer(d.size) },
    alloc(shape: readonly number[], dtype: DType = 'f32') {
      const bytes = numel(shape) * DTYPE_BYTES[dtype];
      stats.live += bytes;
      stats.peak = Math.max(stats.peak, stats.live);
      const t = new GpuTensor(buffer(bytes), shape, dtype, true);
      live.add(t.buffer);
      scopes[scopes.length - 1]?.add(t);
      return t;
    },
    release(...ts: (GpuTensor | undefined)[]) { for (const t of ts) if (t?.pooled && live.delete(t.buffer)) stats.live -= t.buffer.size; },
    keep<T extends GpuTensor>(t: T): T { live.delete(t.buffer); stats.live -= t.buffer.size; return t; },
    scope<R>(fn: () => R): R {
      const mine = new Set<GpuTensor>();
      scopes.push(mine);
      let result: R;
      try { result = fn(); } finally { scopes.pop(); }
      // the model code's scopes return one tensor, an array of them (the decoder VJP's parts) or nothing
      const out = new Set(result instanceof GpuTensor ? [result] : Array.isArray(result) ? result.filter((t) => t instanceof GpuTensor) : []);
      for (const t of mine) if (!out.has(t)) ctx.release(t);
      for (const t of out) if (mine.has(t)) scopes[scopes.length - 1]?.add(t);
      return result;
    },
    upload(data: ArrayLike<number>, shape: readonly number[], dtype: DType = 'f32', resident = false) {
      const t = resident ? new GpuTensor(buffer(numel(shape) * DTYPE_BYTES[dtype]), shape, dtype, false) : ctx.alloc(shape, dtype);
      if (resident) ctx.residentBytes += t.buffer.size;
      return t;
    },
    destroy(t: GpuTensor) { if (t.pooled) ctx.release(t); else ctx.residentBytes -= t.buffer.size; },
    dispatch(kernel: Kernel, bindings: Record<string, GpuTensor | GPUBuffer>) {
      stats.dispatches++;
      for (const [name, r] of Object.entries(bindings)) {
        const size = r instanceof GpuTensor ? r.byteLength : r.size;
        if (size > stats.maxBinding) {
          stats.maxBinding = size;
          stats.maxBindingAt = `${path.join('.')} ${kernel.name}.${name} ${r instanceof GpuTensor ? shapeStr(r.shape) : ''}`;
        }
        if (size > bindingLimit) throw new Error(`${path.join('.')}: ${kernel.name} binding '${name}' is ${size} bytes > ${bindingLimit}`);
      }
    },
    copy() { stats.copies++; },
    flush() {},
    within<R>(name: string | number, fn: () => R): R { path.push(String(name)); try { return fn(); } finally { path.pop(); } },
  };
  return { ctx: ctx as unknown as GpuContext, stats };
}

async function sd14Vae(ctx: GpuContext): Promise<AutoencoderKL> {
  const m = JSON.parse(readFileSync(goldenFile('sd14_configs/sd14_key_manifest.json'), 'utf8')) as {
    diffusers: Record<string, Record<string, number[]>>;
  };
  const file = await openSafetensors(syntheticSafetensors(m.diffusers['vae/diffusion_pytorch_model.safetensors']!, 'F16', 'synthetic SD 1.4 vae'));
  const w = Weights.fromFiles([file], { label: 'vae (synthetic SD 1.4)' });
  return AutoencoderKL.load(ctx, w, parseVaeConfig(readFileSync(goldenFile('sd14_configs/vae/config.json'), 'utf8')));
}

describe('SD 1.4 VAE at 512 x 512, dry run on a 128 MiB binding limit', () => {
  test('decode [1, 4, 64, 64] and encode [1, 3, 512, 512]: no binding over the limit', async () => {
    const { ctx, stats } = dryContext(128 * MiB);
    const vae = await sd14Vae(ctx);
    const z = ctx.upload(new Float32Array(4 * 64 * 64), [1, 4, 64, 64]);
    const img = vae.decode(ctx, z);
    expect([...img.shape]).toEqual([1, 3, 512, 512]);
    console.log(`decode 512: ${stats.dispatches} dispatches, ${stats.copies} copies, largest binding ${(stats.maxBinding / MiB).toFixed(0)} MiB ` +
      `(${stats.maxBindingAt}), peak activations ${(stats.peak / MiB).toFixed(0)} MiB`);
    expect(stats.maxBinding).toBeLessThanOrEqual(128 * MiB);
    ctx.release(z, img);
    const x = ctx.upload(new Float32Array(3 * 512 * 512), [1, 3, 512, 512]);
    const { mean, logvar } = vae.encode(ctx, x);
    expect([...mean.shape]).toEqual([1, 4, 64, 64]);
    expect([...logvar.shape]).toEqual([1, 4, 64, 64]);
    ctx.release(x, mean, logvar);
    expect(stats.maxBinding).toBeLessThanOrEqual(128 * MiB);
    expect(stats.live).toBe(0); // every activation went back to the pool
  }, 120_000);

  test('decoder VJP at [1, 4, 64, 64]: accepted, on channel chunks, no binding over the limit, every buffer back', async () => {
    const { ctx, stats } = dryContext(128 * MiB);
    const vae = await sd14Vae(ctx);
    const z = ctx.upload(new Float32Array(4 * 64 * 64), [1, 4, 64, 64]), u = ctx.upload(new Float32Array(3 * 512 * 512), [1, 3, 512, 512]);
    const base = stats.live;
    stats.peak = base;
    const g = vae.decodeVjp(ctx, z, u);
    expect([...g.shape]).toEqual([1, 4, 64, 64]);
    console.log(`decoder VJP 512: ${stats.dispatches} dispatches, ${stats.copies} copies, largest binding ${(stats.maxBinding / MiB).toFixed(0)} MiB ` +
      `(${stats.maxBindingAt}), peak activations ${((stats.peak - base) / MiB).toFixed(0)} MiB above its inputs`);
    expect(stats.maxBinding).toBeLessThanOrEqual(128 * MiB);
    ctx.release(z, u, g);
    expect(stats.live).toBe(0);
  }, 120_000);

  test('unsplit, the same decode would bind 256 MiB tensors (the check above is not vacuous)', async () => {
    const { ctx, stats } = dryContext(2 ** 30);
    const vae = await sd14Vae(ctx);
    const z = ctx.upload(new Float32Array(4 * 64 * 64), [1, 4, 64, 64]);
    vae.decode(ctx, z);
    expect(stats.maxBinding).toBe(256 * MiB);
  }, 120_000);
});
