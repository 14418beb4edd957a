// The one IEEE 754 binary16 <-> binary32 codec (Node 20 has no Float16Array), used for GPU
// uploads and readbacks and by the weight loader (src/weights/dtype.ts): round-to-nearest-even
// on narrowing (what torch's `.half()` does), overflow to Inf, subnormals exact, Inf stays Inf,
// NaN stays NaN (quiet, with the top payload bits kept). Plain arithmetic on bit patterns, so the
// weight loader may use it too; nothing here touches WebGPU.

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
export function f32BitsToF16Bits(u: number): number {
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
export function f16ToF32Table(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16BitsToF32(h);
  }
  return f16Table;
}

/** f32 values -> f16 bits (numbers that are not f32 are first rounded to f32, as a Float32Array store does). */
export function toF16Array(src: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(src.length);
  if (src instanceof Float32Array) {
    const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
    for (let i = 0; i < bits.length; i++) out[i] = f32BitsToF16Bits(bits[i]!);
  } else {
    for (let i = 0; i < src.length; i++) out[i] = f32ToF16Bits(src[i]!);
  }
  return out;
}

export function fromF16Array(src: Uint16Array): Float32Array {
  const table = f16ToF32Table();
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = table[src[i]!]!;
  return out;
}
