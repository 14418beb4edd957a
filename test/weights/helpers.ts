// Shared fixtures for the weight-loader tests: hand-built safetensors bytes and a byte source
// that records every read, so tests can assert what the loader touched.
import { bufferByteSource, type ByteSource } from '../../src/weights/byte_source.js';

export const GOLDEN = new URL('../../../shared/golden/', import.meta.url).pathname;

/** A safetensors file from a raw header object and data bytes (no validation: for bad inputs). */
export function rawSafetensors(header: unknown, data: Uint8Array | number = 0, headerText?: string): Uint8Array {
  const json = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const bytes = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + json.byteLength + bytes.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  out.set(json, 8);
  out.set(bytes, 8 + json.byteLength);
  return out;
}

export interface ReadLog { offset: number; length: number }

/** Wraps a source and records each read; also asserts reads stay inside the file. */
export function recordingSource(inner: ByteSource): ByteSource & { reads: ReadLog[] } {
  const reads: ReadLog[] = [];
  return {
    name: inner.name,
    size: inner.size,
    reads,
    read(offset, length) {
      reads.push({ offset, length });
      return inner.read(offset, length);
    },
    close: inner.close ? () => inner.close!() : undefined,
  };
}

export const mem = (bytes: Uint8Array, name = 'test.safetensors') => bufferByteSource(bytes, name);

/** Deterministic PRNG (mulberry32) so fuzz failures reproduce from the printed seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
