// Byte-level alphabet of GPT-2/CLIP BPE: every UTF-8 byte maps to one printable BMP character,
// so BPE symbols never contain whitespace or control characters.
// Mirrors transformers models/clip/tokenization_clip.py::bytes_to_unicode.

/** BYTE_TO_CHAR[b] is the character standing for byte b; CHAR_TO_BYTE is its inverse. */
export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();
export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

function buildByteToChar(): string[] {
  const out = new Array<string>(256);
  // Printable Latin-1 bytes ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for themselves ...
  const keep = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  // ... and the other 68 bytes, in increasing order, take U+0100, U+0101, ...
  let n = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCharCode(keep(b) ? b : 256 + n++);
  return out;
}

// TextEncoder/TextDecoder are globals in Node >= 11 and every browser: no node: import needed.
const utf8Encoder = new TextEncoder();
// fatal: false replaces invalid sequences with U+FFFD, like Python's errors="replace".
const utf8Decoder = new TextDecoder('utf-8', { fatal: false });

/** UTF-8 encode `text` and spell each byte with its BPE character. */
export function bytesToBpeChars(text: string): string {
  let s = '';
  for (const b of utf8Encoder.encode(text)) s += BYTE_TO_CHAR[b];
  return s;
}

/** Inverse of bytesToBpeChars; characters outside the byte alphabet are dropped. */
export function bpeCharsToText(chars: string): string {
  const bytes: number[] = [];
  for (const c of chars) {
    const b = CHAR_TO_BYTE.get(c);
    if (b !== undefined) bytes.push(b);
  }
  return utf8Decoder.decode(new Uint8Array(bytes));
}
