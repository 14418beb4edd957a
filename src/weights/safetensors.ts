// Safetensors reader over a ByteSource. openSafetensors() reads only the 8-byte prefix and the
// JSON header, validates it completely (safetensors_header.ts), and then serves each tensor by its
// own byte range: a 4 GB checkpoint is never held in one buffer.
import type { ByteSource } from './byte_source.js';
import {
  assertLittleEndian, bf16ArrayToF32, countNonFiniteF16Bits, countNonFiniteF32, DTYPE_SIZE, f16ArrayToF32, f32ArrayToF16,
  type Dtype, type FloatStats,
} from './dtype.js';
import { parseHeader, parseHeaderLength, type TensorInfo } from './safetensors_header.js';
import { sniffNonSafetensors } from './sniff.js';

export type { TensorInfo } from './safetensors_header.js';
export { MAX_HEADER_BYTES } from './safetensors_header.js';

export interface SafetensorsFile {
  readonly source: ByteSource;
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  readonly metadata: Readonly<Record<string, string>>;
  /** The stored bytes of one tensor (little-endian, row-major). */
  readRaw(name: string): Promise<Uint8Array>;
  /**
   * F32 as is; F16, BF16 and F64 converted. Integer tensors are rejected. With `stats`, counts
   * the NaN/Inf values in the same pass (weights are checked this way at load).
   */
  readF32(name: string, stats?: FloatStats): Promise<Float32Array>;
  /** F64 as is; F32, F16 and BF16 widened exactly. */
  readF64(name: string): Promise<Float64Array>;
  /** I64 (token ids, timesteps) as numbers; throws if a value is not a safe integer. */
  readI64AsNumbers(name: string): Promise<number[]>;
  /** f16 bit patterns: F16 as is; F32 and BF16 rounded to nearest even. `stats` as for readF32. */
  readF16Bits(name: string, stats?: FloatStats): Promise<Uint16Array>;
}

export async function openSafetensors(src: ByteSource): Promise<SafetensorsFile> {
  assertLittleEndian();
  const prefix = await src.read(0, Math.min(8, src.size));
  let header;
  try {
    const n = parseHeaderLength(src.name, prefix, src.size);
    header = parseHeader(src.name, await src.read(8, n), src.size);
  } catch (e) {
    // Only after the header fails: a valid length prefix may happen to look like a magic number.
    const what = sniffNonSafetensors(await src.read(0, Math.min(64, src.size)));
    if (what) throw new Error(`${src.name}: ${what}`);
    throw e;
  }
  return new SafetensorsReader(src, header.tensors, header.metadata);
}

/** Copies when the slice is not aligned for the element type (typed-array views require it). */
function aligned(bytes: Uint8Array, align: number): Uint8Array {
  return bytes.byteOffset % align === 0 ? bytes : bytes.slice();
}

class SafetensorsReader implements SafetensorsFile {
  constructor(
    readonly source: ByteSource,
    readonly tensors: ReadonlyMap<string, TensorInfo>,
    readonly metadata: Readonly<Record<string, string>>,
  ) {}

  private info(name: string): TensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new Error(`${this.source.name}: no tensor named "${name}"`);
    return t;
  }

  private unsupported(name: string, dtype: Dtype, what: string): Error {
    return new Error(`${this.source.name}: tensor "${name}" has dtype ${dtype}, which cannot be read as ${what}`);
  }

  async readRaw(name: string): Promise<Uint8Array> {
    const t = this.info(name);
    return this.source.read(t.begin, t.end - t.begin);
  }

  private async view(name: string): Promise<{ dtype: Dtype; bytes: Uint8Array; n: number }> {
    const t = this.info(name);
    const size = DTYPE_SIZE[t.dtype];
    const bytes = aligned(await this.readRaw(name), size);
    return { dtype: t.dtype, bytes, n: bytes.byteLength / size };
  }

  /** Float tensor bytes -> f32; null for integer dtypes. */
  private toF32(dtype: Dtype, bytes: Uint8Array, n: number, stats?: FloatStats): Float32Array | null {
    switch (dtype) {
      case 'F32': {
        const v = new Float32Array(bytes.buffer, bytes.byteOffset, n);
        if (stats) stats.nonFinite += countNonFiniteF32(v);
        return v;
      }
      case 'F16': return f16ArrayToF32(new Uint16Array(bytes.buffer, bytes.byteOffset, n), stats);
      case 'BF16': return bf16ArrayToF32(new Uint16Array(bytes.buffer, bytes.byteOffset, n), stats);
      case 'F64': {
        const v = Float32Array.from(new Float64Array(bytes.buffer, bytes.byteOffset, n));
        if (stats) stats.nonFinite += countNonFiniteF32(v); // counts f64 values beyond the f32 range too
        return v;
      }
      default: return null;
    }
  }

  async readF32(name: string, stats?: FloatStats): Promise<Float32Array> {
    const { dtype, bytes, n } = await this.view(name);
    const out = this.toF32(dtype, bytes, n, stats);
    if (!out) throw this.unsupported(name, dtype, 'float32 (it is an integer tensor; use readI64AsNumbers or readRaw)');
    return out;
  }

  async readF64(name: string): Promise<Float64Array> {
    const { dtype, bytes, n } = await this.view(name);
    if (dtype === 'F64') return new Float64Array(bytes.buffer, bytes.byteOffset, n);
    const f = this.toF32(dtype, bytes, n); // F32/F16/BF16 widen to f64 exactly
    if (!f) throw this.unsupported(name, dtype, 'float64 (it is an integer tensor)');
    return Float64Array.from(f);
  }

  async readI64AsNumbers(name: string): Promise<number[]> {
    const { dtype, bytes, n } = await this.view(name);
    if (dtype !== 'I64') throw this.unsupported(name, dtype, 'int64');
    const big = new BigInt64Array(bytes.buffer, bytes.byteOffset, n);
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      const v = big[i]!;
      if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
        throw new Error(`${this.source.name}: tensor "${name}" element ${i} = ${v} is outside the safe integer range`);
      }
      out[i] = Number(v);
    }
    return out;
  }

  async readF16Bits(name: string, stats?: FloatStats): Promise<Uint16Array> {
    const { dtype, bytes, n } = await this.view(name);
    if (dtype === 'F16') {
      const v = new Uint16Array(bytes.buffer, bytes.byteOffset, n);
      if (stats) stats.nonFinite += countNonFiniteF16Bits(v);
      return v;
    }
    // bf16 -> f32 is exact, so going through f32 rounds only once. Source NaN/Inf are counted
    // by the narrowing loop (F32) or the widening one (BF16), never twice.
    if (dtype === 'F32') return f32ArrayToF16(this.toF32(dtype, bytes, n)!, stats);
    if (dtype === 'BF16') {
      const wide = this.toF32(dtype, bytes, n, stats)!;
      const over = stats ? { nonFinite: 0, overflowF16: 0 } : undefined;
      const out = f32ArrayToF16(wide, over);
      if (stats && over) stats.overflowF16 += over.overflowF16;
      return out;
    }
    throw this.unsupported(name, dtype, 'float16 (convert F64 goldens with readF32 first)');
  }
}
