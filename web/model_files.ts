// ModelFiles for the page: the default model over HTTP (manifest + Range requests), a folder given
// as (relative path, File) pairs (drag and drop, <input webkitdirectory>), and a wrapper that
// counts every byte-range read (shown on the page; the tests use it to prove that no read is
// larger than one tensor, i.e. a file is never held whole in memory).
import { blobByteSource, fetchByteSource, normalizeRelPath, type ByteSource, type ModelFiles } from '../src/weights/index.js';

/** What tools/serve_web.mjs answers at /model/files.json. */
export interface ModelManifest { name: string; files: { path: string; size: number }[] }

/**
 * Serves small reads from aligned blocks fetched once (shared while in flight, a few kept), so
 * the hundreds of small tensors of a model cost a few dozen HTTP requests instead of one each.
 * Reads of a block or more go straight to the source. Memory stays at `maxBlocks` blocks.
 */
export function blockCachedByteSource(src: ByteSource, blockSize = 1 << 20, maxBlocks = 16): ByteSource {
  const blocks = new Map<number, Promise<Uint8Array>>(); // insertion order = LRU order
  const block = (k: number): Promise<Uint8Array> => {
    let p = blocks.get(k);
    if (p) { blocks.delete(k); blocks.set(k, p); return p; }
    const start = k * blockSize;
    p = src.read(start, Math.min(blockSize, src.size - start));
    p.catch(() => blocks.delete(k));
    blocks.set(k, p);
    while (blocks.size > maxBlocks) blocks.delete(blocks.keys().next().value!);
    return p;
  };
  return {
    name: src.name,
    size: src.size,
    async read(offset, length) {
      if (length >= blockSize || length === 0 || offset < 0 || offset + length > src.size) return src.read(offset, length);
      const k0 = Math.floor(offset / blockSize), k1 = Math.floor((offset + length - 1) / blockSize);
      const parts = await Promise.all(k0 === k1 ? [block(k0)] : [block(k0), block(k1)]);
      const out = new Uint8Array(length);
      let done = 0;
      for (let i = 0; i < parts.length; i++) {
        const bStart = (k0 + i) * blockSize;
        const from = Math.max(offset, bStart) - bStart;
        const n = Math.min(offset + length, bStart + parts[i]!.byteLength) - (bStart + from);
        out.set(parts[i]!.subarray(from, from + n), done);
        done += n;
      }
      return out;
    },
    close: src.close ? () => src.close!() : undefined,
  };
}

/** The model folder served at `base` (e.g. '/model/'), listed by its files.json manifest. */
export async function httpModelFiles(base: string): Promise<ModelFiles> {
  const root = new URL(base, self.location.href);
  const res = await fetch(new URL('files.json', root));
  if (!res.ok) throw new Error(`no default model on this server (${new URL('files.json', root).pathname}: HTTP ${res.status})`);
  const manifest = (await res.json()) as ModelManifest;
  const paths = new Set(manifest.files.map((f) => normalizeRelPath(f.path)));
  const urlOf = (p: string) => new URL(normalizeRelPath(p).split('/').map(encodeURIComponent).join('/'), root).href;
  return {
    name: manifest.name,
    list: async () => [...paths],
    open: async (p) => (paths.has(normalizeRelPath(p)) ? blockCachedByteSource(await fetchByteSource(urlOf(p))) : null),
    readText: async (p) => {
      if (!paths.has(normalizeRelPath(p))) return null;
      const r = await fetch(urlOf(p));
      if (!r.ok) throw new Error(`${urlOf(p)}: HTTP ${r.status}`);
      return r.text();
    },
  };
}

/**
 * A folder given as (path, File) pairs, paths relative to the folder the user chose; when every
 * path starts with the same top folder (webkitdirectory, a dropped folder) it is stripped.
 */
export function entriesModelFiles(entries: readonly (readonly [string, File])[], fallbackName = 'dropped files'): ModelFiles {
  const rel = entries.map(([p]) => p.replace(/\\/g, '/').replace(/^\/+/, ''));
  const top = rel[0]?.split('/')[0];
  const strip = top !== undefined && rel.every((p) => p.startsWith(`${top}/`));
  const name = strip ? top! : fallbackName;
  const byPath = new Map(entries.map(([, f], i) => [normalizeRelPath(strip ? rel[i]!.slice(top!.length + 1) : rel[i]!), f]));
  return {
    name,
    list: async () => [...byPath.keys()],
    open: async (p) => {
      const f = byPath.get(normalizeRelPath(p));
      return f ? blobByteSource(f, `${name}/${normalizeRelPath(p)}`) : null;
    },
    readText: async (p) => (await byPath.get(normalizeRelPath(p))?.text()) ?? null,
  };
}

export interface ReadStats {
  /** number of read() calls */
  reads: number;
  /** bytes read in total */
  bytes: number;
  /** the longest single read, and where */
  maxRead: number;
  maxReadAt: string;
  /** size of every file opened (path -> bytes) */
  opened: Record<string, number>;
}

export function emptyReadStats(): ReadStats {
  return { reads: 0, bytes: 0, maxRead: 0, maxReadAt: '', opened: {} };
}

/** A byte source that records its reads in `stats`. */
export function countingByteSource(src: ByteSource, stats: ReadStats, onRead?: () => void): ByteSource {
  stats.opened[src.name] = src.size;
  return {
    name: src.name,
    size: src.size,
    async read(offset, length) {
      const bytes = await src.read(offset, length);
      stats.reads++;
      stats.bytes += length;
      if (length > stats.maxRead) { stats.maxRead = length; stats.maxReadAt = `${src.name} @ ${offset}`; }
      onRead?.();
      return bytes;
    },
    close: src.close ? () => src.close!() : undefined,
  };
}

/** Every file opened through the result records its reads in `stats`. */
export function countingModelFiles(files: ModelFiles, stats: ReadStats, onRead?: () => void): ModelFiles {
  return {
    name: files.name,
    list: () => files.list(),
    readText: (p) => files.readText(p),
    open: async (p) => {
      const src = await files.open(p);
      return src ? countingByteSource(src, stats, onRead) : null;
    },
  };
}
