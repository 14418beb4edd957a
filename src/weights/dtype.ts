// Element types of safetensors files and conversions between float formats.
// f16 <-> f32 are bit-exact IEEE 754 binary16 conversions (round-to-nearest-even on narrowing),
// so weights stored as f16 on the GPU match what torch's `.half()` produces.

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

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** f16 bits -> f32 value (exact; NaN payloads kept). */
export function f16BitsToF32(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) {
    // Zero or subnormal: mant * 2^-24, exactly representable in f32.
    const v = mant * 2 ** -24;
    return sign ? -v : v;
  }
  if (exp === 0x1f) u32[0] = (sign | 0x7f800000 | (mant << 13)) >>> 0;
  else u32[0] = (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0; // rebias 15 -> 127
  return f32[0]!;
}

/** f32 value -> f16 bits, round-to-nearest-even; overflow -> inf, NaN stays NaN. */
export function f32ToF16Bits(x: number): number {
  f32[0] = x;
  return f32BitsToF16Bits(u32[0]!);
}

/** The same on the raw f32 bit pattern (bulk conversion reads bits without a scratch store). */
function f32BitsToF16Bits(u: number): number {
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  const mant = u & 0x7fffff;
  const e = exp - 112; // f16 biased exponent
  if (e > 0 && e < 0x1f) {
    // Normal result (the common case): drop 13 mantissa bits, round to nearest even.
    const h = sign | (e << 10) | (mant >>> 13);
    const rem = mant & 0x1fff;
    return rem > 0x1000 || (rem === 0x1000 && (h & 1)) ? h + 1 : h; // carry may reach inf: correct
  }
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0);
  if (e >= 0x1f) return sign | 0x7c00;
  // Result is subnormal (or zero): value = full * 2^(exp-150), f16 lsb = 2^-24.
  const shift = 14 - e; // >= 14
  if (shift > 24) return sign; // below half the smallest subnormal (ties at shift 24 go to even 0)
  const full = mant | 0x800000;
  let m = full >>> shift;
  const rem = full & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rem > half || (rem === half && (m & 1))) m++;
  return sign | m; // m may carry to 0x400, the smallest normal: still correct bits
}

let f16Table: Float32Array | null = null;
/** All 65536 f16 values as f32, built once (256 KB) so bulk conversion is a table lookup. */
function f16ToF32Table(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16BitsToF32(h);
  }
  return f16Table;
}

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
  const table = f16ToF32Table();
  const out = new Float32Array(src.length);
  if (!stats) {
    for (let i = 0; i < src.length; i++) out[i] = table[src[i]!]!;
    return out;
  }
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
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  if (!stats) {
    for (let i = 0; i < bits.length; i++) out[i] = f32BitsToF16Bits(bits[i]!);
    return out;
  }
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

export function bf16BitsToF32(h: number): number {
  u32[0] = (h << 16) >>> 0;
  return f32[0]!;
}
