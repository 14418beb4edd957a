// Sinusoidal timestep embedding (diffusers Timesteps / get_timestep_embedding).
// The frequency table is computed on the CPU in float32, step by step as PyTorch (CPU) does,
// uploaded once per (context, dim, options) and kept resident.
import type { GpuContext } from '../gpu/context.js';
import { defineKernel } from '../gpu/kernel.js';
import { check, GpuTensor, shapeStr, type DType } from '../gpu/tensor.js';
import { grid1d } from './grid.js';
import { wgsl } from './wgsl.gen.js';

export const timestepEmbeddingKernel = defineKernel({ name: 'timestep_embedding', source: wgsl.timestep_embedding, overrides: { WG: 64 } });

export interface TimestepEmbeddingOptions {
  /** SD 1.4: true (cos first) */
  flipSinToCos?: boolean;
  /** SD 1.4: 0 */
  freqShift?: number;
  maxPeriod?: number;
  scale?: number;
  /** output dtype (default f32) */
  dtype?: DType;
}

/**
 * exp(-ln(maxPeriod) * arange(half) / (half - freqShift)) in float32, each step rounded as
 * PyTorch's CPU kernels do: the Python scalars become float32 operands, exp is the float32 exp.
 */
export function timestepFrequencies(dim: number, freqShift = 0, maxPeriod = 10000): Float32Array {
  const half = Math.floor(dim / 2);
  check(half - freqShift !== 0, `timestep_embedding: half - freqShift is 0 (dim=${dim}, freqShift=${freqShift})`);
  const negLog = Math.fround(-Math.log(maxPeriod)), denom = Math.fround(half - freqShift);
  const f = new Float32Array(half);
  for (let i = 0; i < half; i++) f[i] = Math.exp(Math.fround(Math.fround(negLog * i) / denom));
  return f;
}

const freqCache = new WeakMap<GpuContext, Map<string, GpuTensor>>();

function residentFrequencies(ctx: GpuContext, dim: number, freqShift: number, maxPeriod: number): GpuTensor {
  let m = freqCache.get(ctx);
  if (!m) freqCache.set(ctx, (m = new Map()));
  const key = `${dim}|${freqShift}|${maxPeriod}`;
  let f = m.get(key);
  if (!f) m.set(key, (f = ctx.upload(timestepFrequencies(dim, freqShift, maxPeriod), [Math.max(1, Math.floor(dim / 2))], 'f32', true)));
  return f;
}

/** t: [N] f32 -> [N, dim] */
export function timestepEmbedding(ctx: GpuContext, t: GpuTensor, dim: number, opts: TimestepEmbeddingOptions = {}): GpuTensor {
  const { flipSinToCos = true, freqShift = 0, maxPeriod = 10000, scale = 1, dtype = 'f32' } = opts;
  check(t.shape.length === 1 && t.dtype === 'f32', `timestep_embedding: t must be a 1-D f32 tensor, got ${t.dtype} ${shapeStr(t.shape)}`);
  check(Number.isInteger(dim) && dim >= 2, `timestep_embedding: dim must be an integer >= 2 (got ${dim})`);
  const N = t.shape[0];
  const freqs = residentFrequencies(ctx, dim, freqShift, maxPeriod);
  const y = ctx.alloc([N, dim], dtype);
  const g = grid1d(y.size, 64);
  ctx.dispatch(timestepEmbeddingKernel, { t, freqs, y },
    { n: y.size, dim, half: Math.floor(dim / 2), flip: flipSinToCos ? 1 : 0, scale, row_stride: g.rowStride },
    g.workgroups, { types: { T: dtype, W: 'f32' } });
  return y;
}
