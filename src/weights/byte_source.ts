// Random-access byte sources for the weight loader. Everything above src/weights reads weights
// through this one interface, so it never knows whether bytes come from a local file, a browser
// File/Blob, or an HTTP server. Reads are by range: a 4 GB checkpoint is never held in one buffer.
// The Node file source lives in byte_source_node.ts so a browser bundle never imports node:fs.

export interface ByteSource {
  /** Shown in every error message (file name or URL). */
  readonly name: string;
  /** Total length in bytes. */
  readonly size: number;
  /** Exactly `length` bytes starting at `offset`; rejects when the range is outside [0, size). */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Releases an OS handle where there is one (Node files). Safe to call twice. */
  close?(): Promise<void>;
}

/** Throws unless [offset, offset+length) lies inside the source; shared by every implementation. */
export function checkRange(src: { name: string; size: number }, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new Error(`${src.name}: invalid read range offset=${offset} length=${length}`);
  }
  if (offset + length > src.size) {
    throw new Error(
      `${src.name}: read of ${length} bytes at offset ${offset} runs past the end of the file (${src.size} bytes)`,
    );
  }
}

/** Browser File or Blob (also works on Node's global Blob). Slicing keeps memory at one range. */
export function blobByteSource(blob: Blob, name?: string): ByteSource {
  const label = name ?? (blob as Blob & { name?: string }).name ?? 'blob';
  const src: ByteSource = {
    name: label,
    size: blob.size,
    async read(offset, length) {
      checkRange(src, offset, length);
      const buf = await blob.slice(offset, offset + length).arrayBuffer();
      if (buf.byteLength !== length) {
        throw new Error(`${label}: short read (${buf.byteLength} of ${length} bytes at offset ${offset})`);
      }
      return new Uint8Array(buf);
    },
  };
  return src;
}

/** Byte source over an in-memory buffer: small files, test fixtures, encoded safetensors. */
export function bufferByteSource(bytes: Uint8Array, name = 'buffer'): ByteSource {
  const src: ByteSource = {
    name,
    size: bytes.byteLength,
    async read(offset, length) {
      checkRange(src, offset, length);
      // A copy, so callers that convert in place cannot corrupt the shared buffer.
      return bytes.slice(offset, offset + length);
    },
  };
  return src;
}

export interface FetchByteSourceOptions {
  /** Injected for tests or to add auth; defaults to the global fetch. */
  fetch?: typeof fetch;
  headers?: Record<string, string>;
}

/** `bytes a-b/total` -> total, or null when the header is missing or has `*` as total. */
function totalFromContentRange(header: string | null): number | null {
  const m = header?.match(/^bytes\s+(?:\d+-\d+|\*)\/(\d+)\s*$/);
  return m ? Number(m[1]) : null;
}

/**
 * HTTP(S) source using Range requests. The size comes from a HEAD request; if the server does not
 * answer HEAD with a Content-Length, it comes from the Content-Range of a one-byte range request.
 * A server that ignores Range (answers 200) is rejected rather than downloading gigabytes.
 */
export async function fetchByteSource(url: string, opts: FetchByteSourceOptions = {}): Promise<ByteSource> {
  const doFetch = opts.fetch ?? globalThis.fetch;
  const headers = opts.headers ?? {};
  let size: number | null = null;
  try {
    const head = await doFetch(url, { method: 'HEAD', headers });
    const len = head.headers.get('content-length');
    if (head.ok && len !== null && /^\d+$/.test(len)) size = Number(len);
  } catch {
    // Some servers or CORS setups reject HEAD; fall through to the range probe.
  }
  if (size === null) {
    const probe = await doFetch(url, { headers: { ...headers, Range: 'bytes=0-0' } });
    size = totalFromContentRange(probe.headers.get('content-range'));
    await probe.body?.cancel();
    if (probe.status !== 206 || size === null) {
      throw new Error(`${url}: cannot determine the size (HTTP ${probe.status}); the server must support Range requests`);
    }
  }
  if (!Number.isSafeInteger(size)) throw new Error(`${url}: invalid size ${size}`);
  const total = size;
  const src: ByteSource = {
    name: url,
    size: total,
    async read(offset, length) {
      checkRange(src, offset, length);
      if (length === 0) return new Uint8Array(0);
      const res = await doFetch(url, { headers: { ...headers, Range: `bytes=${offset}-${offset + length - 1}` } });
      if (res.status !== 206) {
        await res.body?.cancel();
        throw new Error(`${url}: expected HTTP 206 for a Range request, got ${res.status}; the server must support Range requests`);
      }
      const buf = new Uint8Array(await res.arrayBuffer());
      if (buf.byteLength !== length) {
        throw new Error(`${url}: short read (${buf.byteLength} of ${length} bytes at offset ${offset})`);
      }
      return buf;
    },
  };
  return src;
}
