// Text metadata in PNG files, browser-safe (no zlib, no Buffer): iTXt chunks (UTF-8, so prompts
// keep any character) inserted after IHDR of an already-encoded PNG, a reader for tEXt / iTXt,
// and the generation parameters as the A1111 "parameters" text that image viewers and other SD
// front-ends read. The web page uses it for its download; the CLI's writer can share it.
// PNG spec: https://www.w3.org/TR/png-3/#11iTXt (keyword, 0, compression flag 0, method 0,
// empty language tag, 0, empty translated keyword, 0, UTF-8 text).

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

let table: Uint32Array | null = null;
/** CRC-32 (ISO 3309, the PNG chunk checksum) of `bytes`. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = table[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** One PNG chunk: length, type, data, CRC over type + data. */
export function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  v.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** An uncompressed iTXt chunk; the keyword is 1..79 Latin-1 characters (PNG's rule). */
export function itxtChunk(keyword: string, text: string): Uint8Array {
  if (!/^[\x20-\x7e\xa1-\xff]{1,79}$/.test(keyword)) throw new Error(`PNG text keyword '${keyword}' must be 1..79 printable Latin-1 characters`);
  const k = Uint8Array.from(keyword, (ch) => ch.charCodeAt(0));
  const t = new TextEncoder().encode(text);
  const data = new Uint8Array(k.length + 5 + t.length);
  data.set(k, 0);                       // keyword, then 0, flag 0, method 0, '' language, 0, '' translated, 0
  data.set(t, k.length + 5);
  return pngChunk('iTXt', data);
}

function checkSignature(png: Uint8Array): void {
  if (png.length < 33 || SIGNATURE.some((b, i) => png[i] !== b)) throw new Error('not a PNG file (bad signature)');
}

/** The PNG with one iTXt chunk per entry inserted right after IHDR (readers see them before the pixels). */
export function withPngText(png: Uint8Array, text: Record<string, string>): Uint8Array<ArrayBuffer> {
  checkSignature(png);
  const ihdrEnd = 8 + 12 + new DataView(png.buffer, png.byteOffset).getUint32(8);
  const chunks = Object.entries(text).map(([k, v]) => itxtChunk(k, v));
  const out = new Uint8Array(png.length + chunks.reduce((a, c) => a + c.length, 0));
  out.set(png.subarray(0, ihdrEnd), 0);
  let p = ihdrEnd;
  for (const c of chunks) { out.set(c, p); p += c.length; }
  out.set(png.subarray(ihdrEnd), p);
  return out;
}

/** The tEXt and uncompressed iTXt chunks of a PNG (keyword -> text); a bad CRC throws. */
export function readPngText(png: Uint8Array): Record<string, string> {
  checkSignature(png);
  const v = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const latin1 = (b: Uint8Array) => { let s = ''; for (const c of b) s += String.fromCharCode(c); return s; };
  const out: Record<string, string> = {};
  for (let p = 8; p + 12 <= png.length;) {
    const len = v.getUint32(p), type = latin1(png.subarray(p + 4, p + 8));
    const data = png.subarray(p + 8, p + 8 + len);
    if ((type === 'tEXt' || type === 'iTXt') && crc32(png.subarray(p + 4, p + 8 + len)) !== v.getUint32(p + 8 + len)) {
      throw new Error(`PNG ${type} chunk at byte ${p} has a bad CRC`);
    }
    const z = data.indexOf(0);
    if (type === 'tEXt') out[latin1(data.subarray(0, z))] = latin1(data.subarray(z + 1));
    if (type === 'iTXt' && data[z + 1] === 0) {               // compressed iTXt needs zlib: not ours to write, skipped
      let q = data.indexOf(0, z + 3);                           // end of the language tag
      q = data.indexOf(0, q + 1);                               // end of the translated keyword
      out[latin1(data.subarray(0, z))] = new TextDecoder().decode(data.subarray(q + 1));
    }
    if (type === 'IEND') break;
    p += 12 + len;
  }
  return out;
}

/** What a run was, for the A1111 text (names as A1111 writes them; Tether's own settings after). */
export interface RunParameters {
  prompt: string;
  negativePrompt: string;
  steps: number;
  guidance: number;
  seed: number | null;
  width: number;
  height: number;
  model: string;
  /** Tether's settings (task, K, lr, method, ...), written as `Key: value` after A1111's */
  extra: Record<string, string | number | boolean | null | undefined | (string | number)[]>;
}

/**
 * The A1111 "parameters" text: the prompt, a "Negative prompt:" line, then one line of
 * `Key: value` pairs ("Steps: 20, Sampler: DDIM, CFG scale: 7.5, Seed: 1, Size: 32x32, ...").
 * Values holding a comma or colon are quoted, as A1111 does, so the line parses back.
 */
export function a1111Parameters(p: RunParameters): string {
  const q = (v: string) => (/[,:"\n]/.test(v) ? JSON.stringify(v) : v);
  const pairs: [string, string][] = [
    ['Steps', String(p.steps)], ['Sampler', 'DDIM'], ['CFG scale', String(p.guidance)],
    ...(p.seed === null ? [] : [['Seed', String(p.seed)] as [string, string]]),
    ['Size', `${p.width}x${p.height}`], ['Model', p.model],
  ];
  for (const [k, v] of Object.entries(p.extra)) {
    if (v === undefined || v === null) continue;
    pairs.push([k, Array.isArray(v) ? v.join(':') : String(v)]);
  }
  const lines = [p.prompt];
  if (p.negativePrompt) lines.push(`Negative prompt: ${p.negativePrompt}`);
  lines.push(pairs.map(([k, v]) => `${k}: ${q(v)}`).join(', '));
  return lines.join('\n');
}
