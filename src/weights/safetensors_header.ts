// Validation of a safetensors header (https://github.com/huggingface/safetensors#format):
//   [u64 LE header length N][N bytes UTF-8 JSON][data section]
// Every rule is checked before any tensor data is read, so a corrupt or hostile file can never
// make the loader allocate more than the file size or read outside the data section.
import { DTYPE_SIZE, isDtype, type Dtype } from './dtype.js';

/** Same bound as the reference implementation (safetensors::tensor::MAX_HEADER_SIZE). */
export const MAX_HEADER_BYTES = 100_000_000;

export interface TensorInfo {
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  /** Absolute byte offsets in the file (data_offsets shifted by 8 + header length). */
  readonly begin: number;
  readonly end: number;
}

export interface ParsedHeader {
  readonly headerLength: number;
  readonly dataStart: number;
  readonly tensors: Map<string, TensorInfo>;
  readonly metadata: Record<string, string>;
}

/** Reads the u64 length prefix; rejects anything that cannot be a header of this file. */
export function parseHeaderLength(name: string, prefix: Uint8Array, fileSize: number): number {
  if (fileSize < 8 || prefix.byteLength < 8) {
    throw new Error(`${name}: file is ${fileSize} bytes, too short for a safetensors header (needs at least 8)`);
  }
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n < 2n) throw new Error(`${name}: header length ${n} is too small for a JSON object`);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new Error(`${name}: header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit (corrupt or not a safetensors file)`);
  }
  if (n > BigInt(fileSize - 8)) {
    throw new Error(`${name}: header length ${n} exceeds the file size ${fileSize} - 8 (truncated file?)`);
  }
  return Number(n);
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Parses and validates the JSON header bytes; `fileSize` bounds the data section. */
export function parseHeader(name: string, headerBytes: Uint8Array, fileSize: number): ParsedHeader {
  const headerLength = headerBytes.byteLength;
  const dataStart = 8 + headerLength;
  const dataSize = fileSize - dataStart;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    throw new Error(`${name}: header is not valid UTF-8`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${name}: header is not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(json)) throw new Error(`${name}: header JSON must be an object`);

  let metadata: Record<string, string> = {};
  const tensors = new Map<string, TensorInfo>();
  for (const [key, value] of Object.entries(json)) {
    if (key === '__metadata__') {
      metadata = parseMetadata(name, value);
      continue;
    }
    tensors.set(key, parseEntry(name, key, value, dataStart, dataSize));
  }
  checkNoOverlap(name, tensors, dataStart);
  return { headerLength, dataStart, tensors, metadata };
}

function parseMetadata(name: string, value: unknown): Record<string, string> {
  if (!isPlainObject(value)) throw new Error(`${name}: __metadata__ must be an object of strings`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw new Error(`${name}: __metadata__["${k}"] must be a string, got ${typeof v}`);
    out[k] = v;
  }
  return out;
}

function parseEntry(name: string, key: string, value: unknown, dataStart: number, dataSize: number): TensorInfo {
  const where = `${name}: tensor "${key}"`;
  if (!isPlainObject(value)) throw new Error(`${where}: entry must be an object with dtype, shape, data_offsets`);
  const { dtype, shape, data_offsets: offsets } = value;
  if (!isDtype(dtype)) {
    throw new Error(`${where}: unsupported dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(DTYPE_SIZE).join(', ')})`);
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    throw new Error(`${where}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    throw new Error(`${where}: data_offsets must be [begin, end] non-negative integers, got ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) throw new Error(`${where}: data_offsets end ${end} is before begin ${begin}`);
  if (end > dataSize) {
    throw new Error(`${where}: data_offsets [${begin}, ${end}] run past the data section (${dataSize} bytes; truncated file?)`);
  }
  // numel is computed with an early exit so that shapes like [2^40, 2^40] never overflow.
  const itemSize = DTYPE_SIZE[dtype];
  let bytes = itemSize;
  for (const d of shape as number[]) {
    bytes *= d;
    if (bytes > dataSize) break;
  }
  if (shape.includes(0)) bytes = 0;
  if (bytes !== end - begin) {
    const want = bytes > dataSize ? `more than the whole data section (${dataSize} bytes)` : `${bytes} bytes`;
    throw new Error(`${where}: shape [${shape.join(', ')}] x ${dtype} needs ${want} but data_offsets [${begin}, ${end}] span ${end - begin}`);
  }
  return { dtype, shape: Object.freeze([...(shape as number[])]), begin: dataStart + begin, end: dataStart + end };
}

/** Tensors may leave gaps (alignment padding) but may not share bytes. */
function checkNoOverlap(name: string, tensors: Map<string, TensorInfo>, dataStart: number): void {
  const sorted = [...tensors.entries()].filter(([, t]) => t.end > t.begin).sort((a, b) => a[1].begin - b[1].begin);
  for (let i = 1; i < sorted.length; i++) {
    const [prevKey, prev] = sorted[i - 1]!;
    const [key, t] = sorted[i]!;
    if (t.begin < prev.end) {
      const rel = (x: TensorInfo) => `[${x.begin - dataStart}, ${x.end - dataStart}]`;
      throw new Error(`${name}: tensor "${key}" data_offsets ${rel(t)} overlap tensor "${prevKey}" ${rel(prev)}`);
    }
  }
}
