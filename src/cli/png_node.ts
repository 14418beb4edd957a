// PNG in and out for the Node CLI (pngjs), with the generation parameters in tEXt chunks and an
// atomic write: a temp file in the same folder, then a rename, so no half-written image appears.
import { readFileSync } from 'node:fs';
import { rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { PNG } from 'pngjs';
import type { RgbaImage } from '../pipeline/image.js';

export function readPng(path: string): RgbaImage {
  let buf: Buffer;
  try { buf = readFileSync(path); } catch (e) { throw new Error(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`); }
  try {
    const png = PNG.sync.read(buf);
    return { width: png.width, height: png.height, data: png.data };
  } catch (e) {
    throw new Error(`${path} is not a readable PNG (${(e as Error).message})`);
  }
}

/** PNG bytes with tEXt chunks (keyword -> Latin-1 text) inserted after IHDR. */
export function encodePng(img: RgbaImage, text: Record<string, string> = {}): Buffer {
  const png = new PNG({ width: img.width, height: img.height });
  png.data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  const raw = PNG.sync.write(png);
  const chunks = Object.entries(text).map(([k, v]) => textChunk(k, v));
  const ihdrEnd = 8 + 8 + 13 + 4; // signature + (length, type) + IHDR data + CRC
  return Buffer.concat([raw.subarray(0, ihdrEnd), ...chunks, raw.subarray(ihdrEnd)]);
}

function textChunk(keyword: string, value: string): Buffer {
  const data = Buffer.concat([Buffer.from(keyword, 'latin1'), Buffer.from([0]), Buffer.from(value.replace(/[^\x20-\x7e\n]/g, '?'), 'latin1')]);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write('tEXt', 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/** Reads the tEXt chunks of a PNG (tests, and `tether` reading back its own parameters). */
export function readPngText(buf: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  for (let p = 8; p + 8 <= buf.length;) {
    const len = buf.readUInt32BE(p), type = buf.toString('latin1', p + 4, p + 8);
    if (type === 'tEXt') {
      const data = buf.subarray(p + 8, p + 8 + len), z = data.indexOf(0);
      out[data.toString('latin1', 0, z)] = data.toString('latin1', z + 1);
    }
    p += 12 + len;
  }
  return out;
}

export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw new Error(`cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export function writePngAtomic(path: string, img: RgbaImage, text: Record<string, string> = {}): Promise<void> {
  return writeFileAtomic(path, encodePng(img, text));
}
