// Element types of safetensors files and conversions between float formats.
// f16 <-> f32 are bit-exact IEEE 754 binary16 conversions (round-to-nearest-even on narrowing),
// so weights stored as f16 on the GPU match what torch's `.half()` produces. The bulk conversions
// here also count non-finite values for the loader's checks.
import { f32BitsToF16Bits, f16ToF32Table, fromF16Array, toF16Array } from '../gpu/half.js';

export type Dtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'U8';

export const DTYPE_SIZE: Readonly<Record<Dtype, number>> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, U8: 1,
};

export function isDtype(s: unknown): s is Dtype {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_SIZE, s);
}

// The loader reinterprets file bytes as typed arrays in place, which is only correct on a
// little-endian host (safetensors is little-endian). Every WebGPU-capable platform is.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
export function assertLittleEndian(): void {
  if (!LITTLE_ENDIAN) throw new Error('tether weights: big-endian hosts are not supported');
}

// The f16 codec is shared with GPU uploads and readbacks (one implementation, src/gpu/half.ts).
export { f16BitsToF32, f32ToF16Bits } from '../gpu/half.js';

/**
 * Counts filled in by the bulk conversions below while they touch each value anyway, so a loader
 * can refuse damaged weights without a second pass over them.
 */
export interface FloatStats {
  /** NaN or +-Inf values in the source. */
  nonFinite: number;
  /** Finite source values that became +-Inf when narrowed to f16 (|x| >= 65520). */
  overflowF16: number;
}

export const newFloatStats = (): FloatStats => ({ nonFinite: 0, overflowF16: 0 });

export function f16ArrayToF32(src: Uint16Array, stats?: FloatStats): Float32Array {
  if (!stats) return fromF16Array(src);
  const table = f16ToF32Table();
  const out = new Float32Array(src.length);
  let bad = 0;
  for (let i = 0; i < src.length; i++) {
    const h = src[i]!;
    if ((h & 0x7c00) === 0x7c00) bad++; // all-ones exponent: Inf or NaN
    out[i] = table[h]!;
  }
  stats.nonFinite += bad;
  return out;
}

export function f32ArrayToF16(src: Float32Array, stats?: FloatStats): Uint16Array {
  if (!stats) return toF16Array(src);
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  let bad = 0, over = 0;
  for (let i = 0; i < bits.length; i++) {
    const u = bits[i]!, h = f32BitsToF16Bits(u);
    if ((u & 0x7f800000) === 0x7f800000) bad++;
    else if ((h & 0x7c00) === 0x7c00) over++;
    out[i] = h;
  }
  stats.nonFinite += bad;
  stats.overflowF16 += over;
  return out;
}

/** NaN/Inf count of f32 values used as they are (no conversion loop to ride on). */
export function countNonFiniteF32(src: Float32Array): number {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  let bad = 0;
  for (let i = 0; i < bits.length; i++) if ((bits[i]! & 0x7f800000) === 0x7f800000) bad++;
  return bad;
}

/** NaN/Inf count of f16 bit patterns used as they are. */
export function countNonFiniteF16Bits(src: Uint16Array): number {
  let bad = 0;
  for (let i = 0; i < src.length; i++) if ((src[i]! & 0x7c00) === 0x7c00) bad++;
  return bad;
}

/** bf16 is the top half of an f32, so widening is a shift. */
export function bf16ArrayToF32(src: Uint16Array, stats?: FloatStats): Float32Array {
  const out = new Float32Array(src.length);
  const bits = new Uint32Array(out.buffer);
  let bad = 0;
  for (let i = 0; i < src.length; i++) {
    const h = src[i]!;
    if ((h & 0x7f80) === 0x7f80) bad++; // all-ones exponent: Inf or NaN
    bits[i] = h << 16;
  }
  if (stats) stats.nonFinite += bad;
  return out;
}

const bf16Scratch = new Float32Array(1);
const bf16ScratchBits = new Uint32Array(bf16Scratch.buffer);
export function bf16BitsToF32(h: number): number {
  bf16ScratchBits[0] = (h << 16) >>> 0;
  return bf16Scratch[0]!;
}
