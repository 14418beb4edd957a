// A model folder served over HTTP, as ModelFiles: a browser cannot list a folder, so the files
// come from a list the caller gives or from a manifest (`files.json`: ["unet/config.json", ...] or
// { files: [{ path }] }, as tools/serve_web.mjs serves it). Weights are read by Range requests.
import { fetchByteSource, type FetchByteSourceOptions } from './byte_source.js';
import { normalizeRelPath, type ModelFiles } from './model_source.js';

/** `base`: the folder's URL (ends with '/'); `files`: its files relative to it, or the manifest's URL (default base + 'files.json'). */
export async function urlModelFiles(base: string, files?: readonly string[] | string, opts: FetchByteSourceOptions = {}): Promise<ModelFiles> {
  const doFetch = opts.fetch ?? globalThis.fetch;
  const root = new URL(base.endsWith('/') ? base : `${base}/`, (globalThis as { location?: { href: string } }).location?.href);
  let list: string[];
  if (Array.isArray(files)) list = [...files];
  else {
    const at = new URL((files as string | undefined) ?? 'files.json', root);
    const res = await doFetch(at, { headers: opts.headers });
    if (!res.ok) throw new Error(`${at.href}: HTTP ${res.status} (a model folder over HTTP needs a files.json manifest or a list of its files)`);
    const m = (await res.json()) as string[] | { name?: string; files: ({ path: string } | string)[] };
    list = (Array.isArray(m) ? m : m.files).map((f) => (typeof f === 'string' ? f : f.path));
  }
  const paths = new Set(list.map(normalizeRelPath));
  const urlOf = (p: string) => new URL(normalizeRelPath(p).split('/').map(encodeURIComponent).join('/'), root).href;
  return {
    name: root.href,
    list: async () => [...paths],
    open: async (p) => (paths.has(normalizeRelPath(p)) ? fetchByteSource(urlOf(p), opts) : null),
    readText: async (p) => {
      if (!paths.has(normalizeRelPath(p))) return null;
      const r = await doFetch(urlOf(p), { headers: opts.headers });
      if (!r.ok) throw new Error(`${urlOf(p)}: HTTP ${r.status}`);
      return r.text();
    },
  };
}
