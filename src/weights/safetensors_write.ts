// Safetensors encoder, used for `tether forward` outputs, test fixtures, and building a
// single-file checkpoint from a diffusers folder in tests. Header layout follows the reference
// writer: JSON padded with spaces to a multiple of 8 so tensor data starts 8-byte aligned.
import { assertLittleEndian, DTYPE_SIZE } from './dtype.js';

export type WritableDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'U8';

/** Element storage per dtype: F16/BF16 as raw 16-bit patterns. */
export interface TensorToWrite {
  dtype: WritableDtype;
  shape: number[];
  data: Float64Array | Float32Array | Uint16Array | BigInt64Array | Int32Array | Uint8Array;
}

const ARRAY_TYPE: Record<WritableDtype, { name: string; prototype: object }> = {
  F64: Float64Array, F32: Float32Array, F16: Uint16Array, BF16: Uint16Array,
  I64: BigInt64Array, I32: Int32Array, U8: Uint8Array,
};

export function encodeSafetensors(tensors: Record<string, TensorToWrite>, metadata?: Record<string, string>): Uint8Array<ArrayBuffer> {
  assertLittleEndian();
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header['__metadata__'] = metadata;
  let offset = 0;
  const entries = Object.entries(tensors);
  for (const [name, t] of entries) {
    if (name === '__metadata__') throw new Error('encodeSafetensors: "__metadata__" is reserved and cannot be a tensor name');
    const want = ARRAY_TYPE[t.dtype];
    if (!want) throw new Error(`encodeSafetensors: tensor "${name}": unsupported dtype ${String(t.dtype)}`);
    if (!want.prototype.isPrototypeOf(t.data)) {
      throw new Error(`encodeSafetensors: tensor "${name}": dtype ${t.dtype} needs a ${want.name}, got ${t.data.constructor.name}`);
    }
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new Error(`encodeSafetensors: tensor "${name}": invalid shape [${t.shape.join(', ')}]`);
    }
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (numel !== t.data.length) {
      throw new Error(`encodeSafetensors: tensor "${name}": shape [${t.shape.join(', ')}] has ${numel} elements, data has ${t.data.length}`);
    }
    const bytes = numel * DTYPE_SIZE[t.dtype];
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.byteLength / 8) * 8;
  if (padded !== json.byteLength) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + padded + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  let pos = 8 + padded;
  for (const [, t] of entries) {
    const src = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    out.set(src, pos);
    pos += src.byteLength;
  }
  return out;
}
