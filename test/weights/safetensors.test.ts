import { describe, expect, it } from 'vitest';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSafetensors } from '../../src/weights/safetensors.js';
import { encodeSafetensors } from '../../src/weights/safetensors_write.js';
import { writeSafetensorsAtomic } from '../../src/weights/safetensors_write_node.js';
import { fileByteSource } from '../../src/weights/byte_source_node.js';
import { mem, rawSafetensors } from './helpers.js';

const entry = (dtype: string, shape: number[], begin: number, end: number) => ({ dtype, shape, data_offsets: [begin, end] });

/** Opening `bytes` must reject with a message naming the file and matching every pattern. */
async function rejects(bytes: Uint8Array, ...patterns: RegExp[]): Promise<string> {
  const err = await openSafetensors(mem(bytes, 'bad.safetensors')).then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(Error);
  const msg = (err as Error).message;
  expect(msg).toContain('bad.safetensors');
  for (const p of patterns) expect(msg).toMatch(p);
  return msg;
}

describe('safetensors header validation', () => {
  it('accepts a valid file with metadata, gaps and zero-sized tensors', async () => {
    const f = await openSafetensors(mem(rawSafetensors({
      __metadata__: { format: 'pt' }, a: entry('F32', [2], 0, 8), gap: entry('U8', [3], 16, 19), empty: entry('F16', [0, 5], 8, 8),
    }, 19)));
    expect(f.metadata).toEqual({ format: 'pt' });
    expect([...f.tensors.keys()].sort()).toEqual(['a', 'empty', 'gap']);
    expect(f.tensors.get('gap')!.shape).toEqual([3]);
  });

  it('rejects files shorter than the length prefix', async () => {
    await rejects(new Uint8Array(5), /too short/);
    await rejects(new Uint8Array(0), /too short/);
  });

  it('rejects header lengths beyond 100 MB or beyond the file', async () => {
    const huge = rawSafetensors({});
    new DataView(huge.buffer).setBigUint64(0, 0xffffffffffffffffn, true);
    await rejects(huge, /header length 18446744073709551615 exceeds the 100000000-byte limit/);
    const past = rawSafetensors({ a: entry('F32', [1], 0, 4) }, 4);
    new DataView(past.buffer).setBigUint64(0, BigInt(past.byteLength), true);
    await rejects(past, /exceeds the file size/);
    const tiny = rawSafetensors({});
    new DataView(tiny.buffer).setBigUint64(0, 1n, true);
    await rejects(tiny, /too small/);
  });

  it('rejects invalid UTF-8, invalid JSON and non-object JSON', async () => {
    const bad = rawSafetensors(null, 0, '{"\xff": 1}');
    bad.set([0x7b, 0x22, 0xff, 0xfe], 8);
    await rejects(bad, /not valid UTF-8/);
    await rejects(rawSafetensors(null, 0, '{"a": '), /not valid JSON/);
    await rejects(rawSafetensors([1, 2]), /must be an object/);
    await rejects(rawSafetensors(null, 0, '"str"'), /must be an object/);
  });

  it('rejects bad __metadata__', async () => {
    await rejects(rawSafetensors({ __metadata__: [] }), /__metadata__ must be an object/);
    await rejects(rawSafetensors({ __metadata__: { n: 1 } }), /__metadata__\["n"\] must be a string/);
  });

  it('rejects bad entries, naming the tensor', async () => {
    await rejects(rawSafetensors({ w: 5 }), /tensor "w": entry must be an object/);
    await rejects(rawSafetensors({ w: entry('F8_E4M3', [1], 0, 1) }, 1), /tensor "w": unsupported dtype "F8_E4M3"/);
    await rejects(rawSafetensors({ w: entry('F32', [-1], 0, 4) }, 4), /tensor "w": shape must be/);
    await rejects(rawSafetensors({ w: entry('F32', [1.5], 0, 4) }, 4), /tensor "w": shape must be/);
    await rejects(rawSafetensors({ w: { dtype: 'F32', shape: 'x', data_offsets: [0, 4] } }, 4), /shape must be/);
    await rejects(rawSafetensors({ w: { dtype: 'F32', shape: [1], data_offsets: [0] } }, 4), /tensor "w": data_offsets must be/);
    await rejects(rawSafetensors({ w: { dtype: 'F32', shape: [1] } }, 4), /data_offsets must be/);
    await rejects(rawSafetensors({ w: entry('F32', [0], 4, 0) }, 4), /end 0 is before begin 4/);
  });

  it('rejects byte sizes that disagree with shape x dtype', async () => {
    await rejects(rawSafetensors({ w: entry('F32', [3], 0, 8) }, 12), /tensor "w": shape \[3\] x F32 needs 12 bytes but .* span 8/);
    await rejects(rawSafetensors({ w: entry('F16', [2 ** 40, 2 ** 40], 0, 8) }, 8), /needs more than the whole data section/);
    await rejects(rawSafetensors({ w: entry('I64', [2 ** 53 - 1, 2], 0, 8) }, 8), /needs more than/);
  });

  it('rejects data outside the data section (truncated data)', async () => {
    const ok = rawSafetensors({ w: entry('F32', [4], 0, 16) }, 16);
    await rejects(ok.subarray(0, ok.byteLength - 1), /tensor "w": data_offsets \[0, 16\] run past the data section \(15 bytes; truncated/);
  });

  it('rejects overlapping tensors, allows touching ones', async () => {
    await rejects(rawSafetensors({ a: entry('F32', [2], 0, 8), b: entry('F32', [2], 4, 12) }, 12), /tensor "b" data_offsets \[4, 12\] overlap tensor "a" \[0, 8\]/);
    await openSafetensors(mem(rawSafetensors({ b: entry('F32', [1], 4, 8), a: entry('F32', [1], 0, 4) }, 8)));
  });

  it('reads only the prefix and the header while opening', async () => {
    const bytes = encodeSafetensors({ a: { dtype: 'F32', shape: [1000], data: new Float32Array(1000) } });
    const reads: number[][] = [];
    const src = mem(bytes);
    await openSafetensors({ ...src, read: (o, l) => { reads.push([o, l]); return src.read(o, l); } });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(reads).toEqual([[0, 8], [8, n]]);
  });
});

describe('not a safetensors file', () => {
  it('says a PNG, JSON, zip or pickle checkpoint is what it is', async () => {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1]);
    await rejects(png, /PNG image/);
    await rejects(new TextEncoder().encode('{"_class_name": "UNet2DConditionModel", "in_channels": 4}'), /JSON file/);
    const pickle = new Uint8Array([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]);
    const msg = await rejects(pickle, /PyTorch pickle checkpoint/, /convert it to \.safetensors/);
    expect(msg).toMatch(/never unpickles/);
    const zip = new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0x00, 0x00, 0x08, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    await rejects(zip, /PyTorch pickle checkpoint \(a zip archive/);
    await rejects(new TextEncoder().encode('version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 3\n'), /Git LFS pointer/);
  });
});

describe('reads and conversions', () => {
  const f32 = new Float32Array([1, -2.5, 65504, 1 + 2 ** -11]);
  const bytes = encodeSafetensors({
    f32: { dtype: 'F32', shape: [2, 2], data: f32 },
    f16: { dtype: 'F16', shape: [3], data: new Uint16Array([0x3c00, 0xc000, 0x0001]) },
    bf16: { dtype: 'BF16', shape: [2], data: new Uint16Array([0x4049, 0xc2f7]) },
    f64: { dtype: 'F64', shape: [2], data: new Float64Array([0.1, -3]) },
    i64: { dtype: 'I64', shape: [3], data: new BigInt64Array([981n, -1n, 2n ** 53n - 1n]) },
    big: { dtype: 'I64', shape: [1], data: new BigInt64Array([2n ** 53n]) },
    u8: { dtype: 'U8', shape: [2], data: new Uint8Array([7, 255]) },
    i32: { dtype: 'I32', shape: [1], data: new Int32Array([-5]) },
  }, { note: 'x' });

  it('converts every float dtype to f32, f64 and f16 bits', async () => {
    const f = await openSafetensors(mem(bytes, 'conv.safetensors'));
    expect(f.metadata).toEqual({ note: 'x' });
    expect(Array.from(await f.readF32('f32'))).toEqual(Array.from(f32));
    expect(Array.from(await f.readF32('f16'))).toEqual([1, -2, 2 ** -24]);
    expect(Array.from(await f.readF32('bf16'))).toEqual([3.140625, -123.5]);
    expect(Array.from(await f.readF32('f64'))).toEqual([Math.fround(0.1), -3]);
    expect(Array.from(await f.readF64('f64'))).toEqual([0.1, -3]);
    expect(Array.from(await f.readF64('f16'))).toEqual([1, -2, 2 ** -24]);
    expect(Array.from(await f.readF16Bits('f32'))).toEqual([0x3c00, 0xc100, 0x7bff, 0x3c00]);
    expect(Array.from(await f.readF16Bits('bf16'))).toEqual([0x4248, 0xd7b8]);
    expect(Array.from(await f.readF16Bits('f16'))).toEqual([0x3c00, 0xc000, 0x0001]);
    expect(await f.readI64AsNumbers('i64')).toEqual([981, -1, 2 ** 53 - 1]);
    expect(Array.from(await f.readRaw('u8'))).toEqual([7, 255]);
  });

  it('rejects integer tensors as floats and out-of-range int64 with clear messages', async () => {
    const f = await openSafetensors(mem(bytes, 'conv.safetensors'));
    await expect(f.readF32('i64')).rejects.toThrow(/conv\.safetensors: tensor "i64" has dtype I64, which cannot be read as float32/);
    await expect(f.readF32('u8')).rejects.toThrow(/"u8" has dtype U8/);
    await expect(f.readF64('i32')).rejects.toThrow(/"i32" has dtype I32/);
    await expect(f.readF16Bits('f64')).rejects.toThrow(/"f64" has dtype F64, which cannot be read as float16/);
    await expect(f.readI64AsNumbers('f32')).rejects.toThrow(/"f32" has dtype F32, which cannot be read as int64/);
    await expect(f.readI64AsNumbers('big')).rejects.toThrow(/"big" element 0 = 9007199254740992 is outside the safe integer range/);
    await expect(f.readF32('nope')).rejects.toThrow(/conv\.safetensors: no tensor named "nope"/);
  });

  it('handles unaligned tensor data', async () => {
    // U8 of length 1 first pushes the F32 tensor to an odd offset.
    const raw = rawSafetensors({ p: entry('U8', [1], 0, 1), x: entry('F32', [1], 1, 5) }, new Uint8Array([9, 0, 0, 0x80, 0x3f]));
    const f = await openSafetensors(mem(raw));
    expect(Array.from(await f.readF32('x'))).toEqual([1]);
  });

  it('reads a golden file with I64 and F32 tensors', async () => {
    const src = await fileByteSource(new URL('../../../shared/golden/goldens/unet_inputs.safetensors', import.meta.url).pathname);
    try {
      const f = await openSafetensors(src);
      expect(await f.readI64AsNumbers('timesteps')).toEqual([981, 1]);
      expect((await f.readF32('sample')).length).toBe(2 * 4 * 16 * 16);
      expect(f.tensors.get('encoder_hidden_states')!.shape).toEqual([2, 77, 32]);
    } finally {
      await src.close!();
    }
  });
});

describe('writer', () => {
  it('pads the header to 8 bytes and round-trips', async () => {
    const bytes = encodeSafetensors({ a: { dtype: 'F32', shape: [3], data: new Float32Array([1, 2, 3]) } });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const f = await openSafetensors(mem(bytes));
    expect(Array.from(await f.readF32('a'))).toEqual([1, 2, 3]);
  });

  it('rejects mismatched data', () => {
    expect(() => encodeSafetensors({ a: { dtype: 'F32', shape: [4], data: new Float32Array(3) } })).toThrow(/has 4 elements, data has 3/);
    expect(() => encodeSafetensors({ a: { dtype: 'F32', shape: [3], data: new Float64Array(3) } })).toThrow(/needs a Float32Array/);
  });

  it('writes atomically through a temp file in the same directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tether-st-'));
    try {
      const path = join(dir, 'out.safetensors');
      await writeSafetensorsAtomic(path, { t: { dtype: 'I64', shape: [2], data: new BigInt64Array([1n, 2n]) } });
      expect(await readdir(dir)).toEqual(['out.safetensors']);
      const f = await openSafetensors(mem(new Uint8Array(await readFile(path))));
      expect(await f.readI64AsNumbers('t')).toEqual([1, 2]);
      await expect(writeSafetensorsAtomic(path, { t: { dtype: 'F32', shape: [2], data: new Float32Array(1) } })).rejects.toThrow();
      expect(await readdir(dir)).toEqual(['out.safetensors']);
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});
