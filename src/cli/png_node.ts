// PNG in and out for the Node CLI (pngjs), with the generation parameters in text chunks and an
// atomic write: a temp file in the same folder, then a rename, so no half-written image appears.
import { readFileSync } from 'node:fs';
import { rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { PNG } from 'pngjs';
import type { RgbaImage } from '../pipeline/image.js';
import { readPngText as readPngTextChunks, withPngText } from '../pipeline/png_text.js';

export function readPng(path: string): RgbaImage {
  let buf: Buffer;
  try { buf = readFileSync(path); } catch (e) { throw new Error(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`); }
  if (buf.length === 0) throw new Error(`${path} is empty (0 bytes); expected a PNG image`);
  if (buf.length < 8 || !buf.subarray(0, 8).equals(PNG_SIGNATURE)) throw new Error(`${path} is not a readable PNG (it does not start with the PNG signature)`);
  try {
    const png = PNG.sync.read(buf);
    return { width: png.width, height: png.height, data: png.data };
  } catch (e) {
    // pngjs words a file that ends early as "read requests waitng on finished stream"
    const msg = (e as Error).message;
    if (/waitng|waiting|unexpected end/i.test(msg)) throw new Error(`${path} is truncated: the PNG data ends before the image is complete (${buf.length} bytes)`);
    throw new Error(`${path} is not a readable PNG (${msg})`);
  }
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** PNG bytes with one UTF-8 iTXt chunk per entry after IHDR (src/pipeline/png_text.ts, shared with the page). */
export function encodePng(img: RgbaImage, text: Record<string, string> = {}): Buffer {
  const png = new PNG({ width: img.width, height: img.height });
  png.data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  const bytes = withPngText(PNG.sync.write(png), text);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The tEXt and iTXt chunks of a PNG (tests, and `tether` reading back its own parameters). */
export const readPngText: (png: Uint8Array) => Record<string, string> = readPngTextChunks;

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
