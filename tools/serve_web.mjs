#!/usr/bin/env node
// Static server for the web page (dist/web) and the embedded default model, on 127.0.0.1 only.
// No dependencies beyond Node. The model folder is served under /model/ with HTTP Range support
// (the page reads weights tensor by tensor through fetchByteSource), plus /model/files.json, a
// manifest of the model's files (a browser cannot list a folder over HTTP), and the model's held-out
// test images (testset.safetensors) when it has them, for the page's Sample button.
//
//   node tools/serve_web.mjs [--port 8080] [--model DIR] [--root dist/web]
//
// The default model is weights/fmnist when it exists, else the tiny golden test model in
// ../shared/golden (random weights: deterministic noise-like output, for development and tests).
import { createReadStream, existsSync, statSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { basename, dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const MIME = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json; charset=utf-8', '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8', '.png': 'image/png', '.svg': 'image/svg+xml', '.ico': 'image/x-icon',
  '.safetensors': 'application/octet-stream',
};

/** What a diffusers pipeline folder holds: only these are served from the model folder (and listed in files.json). */
const MODEL_ENTRIES = ['model_index.json', 'unet', 'vae', 'text_encoder', 'tokenizer', 'scheduler'];
/**
 * Served too, but not part of the model (so not in files.json): the embedded model's held-out test
 * images, the page's Sample pictures (web/ui/samples.ts).
 */
const SAMPLE_FILES = ['testset.safetensors'];

/** The default model folder: weights/fmnist when trained, else the golden test model. */
export function defaultModelDir() {
  const fmnist = join(ROOT, 'weights', 'fmnist');
  if (existsSync(join(fmnist, 'unet', 'config.json'))) return fmnist;
  const golden = resolve(ROOT, '..', 'shared', 'golden');
  if (existsSync(join(golden, 'unet', 'config.json'))) return golden;
  return null;
}

/** Relative paths and sizes of the model's files (diffusers components only). */
async function modelManifest(modelDir) {
  const files = [];
  async function walk(dir, prefix) {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const rel = prefix + e.name;
      if (e.isDirectory()) await walk(join(dir, e.name), `${rel}/`);
      else if (e.isFile() || e.isSymbolicLink()) {
        const st = await stat(join(dir, e.name)).catch(() => null);
        if (st?.isFile()) files.push({ path: rel, size: st.size });
      }
    }
  }
  for (const entry of MODEL_ENTRIES) {
    const p = join(modelDir, entry);
    const st = await stat(p).catch(() => null);
    if (!st) continue;
    if (st.isDirectory()) await walk(p, `${entry}/`);
    else if (st.isFile()) files.push({ path: entry, size: st.size });
  }
  files.sort((a, b) => (a.path < b.path ? -1 : 1));
  return { name: basename(modelDir), files };
}

/** Resolves a URL path under `base`, refusing anything that escapes it. */
function safeJoin(base, urlPath) {
  let decoded;
  try { decoded = decodeURIComponent(urlPath); } catch { return null; }
  if (decoded.includes('\0')) return null;
  const p = resolve(base, `.${sep}${decoded.replace(/^\/+/, '')}`);
  return p === base || p.startsWith(base + sep) ? p : null;
}

/** Parses a single `bytes=a-b` / `bytes=a-` / `bytes=-n` range; null = serve the whole file, 'bad' = 416. */
function parseRange(header, size) {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return header.includes(',') ? null : 'bad'; // multiple ranges: ignore Range, send 200
  let start, end;
  if (m[1] === '' && m[2] === '') return 'bad';
  if (m[1] === '') { const n = Number(m[2]); if (n === 0) return 'bad'; start = Math.max(0, size - n); end = size - 1; }
  else { start = Number(m[1]); end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1); }
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start > end || start >= size) return 'bad';
  return { start, end };
}

function sendFile(req, res, path, st, extraHeaders = {}) {
  const headers = {
    'Content-Type': MIME[extname(path).toLowerCase()] ?? 'application/octet-stream',
    'Accept-Ranges': 'bytes',
    'Last-Modified': st.mtime.toUTCString(),
    // no-store: the browser cache would revalidate or stitch every range; on localhost a fresh read is cheaper
    'Cache-Control': 'no-store',
    ...extraHeaders,
  };
  let start = 0, end = st.size - 1, status = 200;
  const rangeHeader = req.headers.range;
  if (rangeHeader && st.size > 0) {
    const r = parseRange(rangeHeader, st.size);
    if (r === 'bad') {
      res.writeHead(416, { 'Content-Range': `bytes */${st.size}`, 'Content-Type': 'text/plain' });
      res.end(`range not satisfiable: ${rangeHeader} (file is ${st.size} bytes)\n`);
      return;
    }
    if (r) { ({ start, end } = r); status = 206; headers['Content-Range'] = `bytes ${start}-${end}/${st.size}`; }
  }
  headers['Content-Length'] = String(st.size === 0 ? 0 : end - start + 1);
  res.writeHead(status, headers);
  if (req.method === 'HEAD' || st.size === 0) { res.end(); return; }
  const stream = createReadStream(path, { start, end });
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}

function notFound(res, what) {
  res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(`not found: ${what}\n`);
}

/**
 * Starts the server. `root`: the built page (dist/web); `modelDir`: the default model (null = none:
 * the page then asks the user for one). Resolves to { server, url, port, close() }.
 */
export async function serveWeb({ root = join(ROOT, 'dist', 'web'), modelDir = defaultModelDir(), port = 8080, host = '127.0.0.1', log = false } = {}) {
  const webRoot = resolve(root);
  const modelRoot = modelDir ? resolve(modelDir) : null;
  const server = createServer(async (req, res) => {
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { Allow: 'GET, HEAD' });
        res.end();
        return;
      }
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (log) console.log(`${req.method} ${url.pathname}${req.headers.range ? ` (${req.headers.range})` : ''}`);
      // Pages are always fetched fresh: a rebuilt bundle must never mix with a cached one.
      const headers = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' };
      if (url.pathname === '/model/files.json') {
        if (!modelRoot) return notFound(res, 'no default model is configured');
        const body = JSON.stringify(await modelManifest(modelRoot)); // fresh: the folder may be re-exported
        res.writeHead(200, { ...headers, 'Content-Type': MIME['.json'], 'Content-Length': Buffer.byteLength(body) });
        res.end(req.method === 'HEAD' ? undefined : body);
        return;
      }
      if (url.pathname.startsWith('/model/')) {
        if (!modelRoot) return notFound(res, url.pathname);
        const rel = url.pathname.slice('/model/'.length);
        const top = decodeURIComponent(rel).split('/')[0];
        const p = MODEL_ENTRIES.includes(top) || SAMPLE_FILES.includes(decodeURIComponent(rel)) ? safeJoin(modelRoot, rel) : null;
        const st = p ? await stat(p).catch(() => null) : null;
        if (!st?.isFile()) return notFound(res, url.pathname);
        return sendFile(req, res, p, st);
      }
      let p = safeJoin(webRoot, url.pathname);
      let st = p ? await stat(p).catch(() => null) : null;
      if (st?.isDirectory()) { p = join(p, 'index.html'); st = await stat(p).catch(() => null); }
      if (!st?.isFile()) return notFound(res, url.pathname);
      return sendFile(req, res, p, st, headers);
    } catch (e) {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(`server error: ${e?.message ?? e}\n`);
    }
  });
  await new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => { server.off('error', fail); ok(); });
  });
  const actualPort = server.address().port;
  return {
    server,
    port: actualPort,
    url: `http://${host}:${actualPort}/`,
    modelDir: modelRoot,
    close: () => new Promise((ok) => { server.closeAllConnections?.(); server.close(() => ok()); }),
  };
}

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => { const v = argv[++i]; if (v === undefined) throw new Error(`${a} needs a value`); return v; };
    if (a === '--port') out.port = Number(val());
    else if (a === '--model') out.modelDir = val();
    else if (a === '--root') out.root = val();
    else if (a === '--log') out.log = true;
    else if (a === '-h' || a === '--help') {
      console.log('usage: node tools/serve_web.mjs [--port N] [--model DIR] [--root DIR] [--log]\n' +
        '  --port   port on 127.0.0.1 (default 8080; 0 = any free port)\n' +
        '  --model  diffusers folder served as the default model (default: weights/fmnist, else ../shared/golden)\n' +
        '  --root   the built page (default dist/web; build it with node tools/build_web.mjs)\n' +
        '  --log    print every request');
      process.exit(0);
    } else throw new Error(`unknown argument ${a} (see --help)`);
  }
  if (out.port !== undefined && !(Number.isInteger(out.port) && out.port >= 0 && out.port < 65536)) throw new Error('--port must be 0..65535');
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const args = parseArgs(process.argv.slice(2));
    const root = args.root ?? join(ROOT, 'dist', 'web');
    if (!existsSync(join(root, 'index.html'))) throw new Error(`${root}/index.html is missing: run node tools/build_web.mjs first`);
    if (args.modelDir && !statSync(args.modelDir, { throwIfNoEntry: false })?.isDirectory()) throw new Error(`--model ${args.modelDir}: not a folder`);
    const s = await serveWeb({ ...args, root });
    console.log(`Tether web page: ${s.url}`);
    console.log(s.modelDir ? `default model: ${s.modelDir} (served at ${s.url}model/)` : 'no default model found: pick one in the page');
    console.log('Ctrl-C to stop');
  } catch (e) {
    console.error(`serve_web: ${e.message}${e.code === 'EADDRINUSE' ? ' (pass --port N for another port)' : ''}`);
    process.exit(1);
  }
}
