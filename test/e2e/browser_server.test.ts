// tools/serve_web.mjs (the page's static server) and the page's HTTP model source, without a
// browser: Range requests, the manifest, path containment, and the block cache over fetch.
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchByteSource, openSafetensors } from '../../src/weights/index.js';
import { serveWeb } from '../../tools/serve_web.mjs';
import { blockCachedByteSource, countingByteSource, emptyReadStats } from '../../web/model_files.js';
import { GOLDEN } from './browser_helpers.js';

describe('serve_web', () => {
  let srv: Awaited<ReturnType<typeof serveWeb>>;
  let root: string;
  const unetPath = join(GOLDEN, 'unet/diffusion_pytorch_model.safetensors');
  const unet = readFileSync(unetPath);

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'tether-serve-'));
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>t</title>');
    mkdirSync(join(root, 'sub'));
    writeFileSync(join(root, 'sub', 'a.js'), 'export {}');
    srv = await serveWeb({ root, modelDir: GOLDEN, port: 0 });
  });
  afterAll(async () => {
    await srv?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('listens on 127.0.0.1 and serves the page with types', async () => {
    expect(srv.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await fetch(srv.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const js = await fetch(`${srv.url}sub/a.js`);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect((await fetch(`${srv.url}missing.js`)).status).toBe(404);
  });

  it('never serves outside its folders', async () => {
    for (const p of ['..%2f..%2fpackage.json', '%2e%2e/%2e%2e/etc/passwd', 'model/..%2f..%2fetc%2fpasswd', 'model/goldens/pipeline.json', 'model/README.md']) {
      expect((await fetch(`${srv.url}${p}`)).status, p).toBe(404);
    }
    expect((await fetch(srv.url, { method: 'POST' })).status).toBe(405);
  });

  it('lists only the diffusers components of the model in files.json', async () => {
    const m = (await (await fetch(`${srv.url}model/files.json`)).json()) as { name: string; files: { path: string; size: number }[] };
    expect(m.name).toBe('golden');
    const paths = m.files.map((f) => f.path);
    expect(paths).toContain('unet/diffusion_pytorch_model.safetensors');
    expect(paths).toContain('tokenizer/vocab.json');
    expect(paths).toContain('model_index.json');
    expect(paths.every((p) => /^(model_index\.json|(unet|vae|text_encoder|tokenizer|scheduler)\/)/.test(p))).toBe(true);
    expect(m.files.find((f) => f.path === 'unet/diffusion_pytorch_model.safetensors')!.size).toBe(unet.byteLength);
  });

  it('answers HEAD and Range requests (206, suffix, open-ended, 416)', async () => {
    const url = `${srv.url}model/unet/diffusion_pytorch_model.safetensors`;
    const head = await fetch(url, { method: 'HEAD' });
    expect(head.headers.get('content-length')).toBe(String(unet.byteLength));
    expect(head.headers.get('accept-ranges')).toBe('bytes');
    const r = await fetch(url, { headers: { Range: 'bytes=100-199' } });
    expect(r.status).toBe(206);
    expect(r.headers.get('content-range')).toBe(`bytes 100-199/${unet.byteLength}`);
    expect(Buffer.from(await r.arrayBuffer()).equals(unet.subarray(100, 200))).toBe(true);
    const suffix = await fetch(url, { headers: { Range: 'bytes=-10' } });
    expect(Buffer.from(await suffix.arrayBuffer()).equals(unet.subarray(unet.byteLength - 10))).toBe(true);
    const open = await fetch(url, { headers: { Range: `bytes=${unet.byteLength - 5}-` } });
    expect((await open.arrayBuffer()).byteLength).toBe(5);
    const bad = await fetch(url, { headers: { Range: `bytes=${unet.byteLength}-` } });
    expect(bad.status).toBe(416);
    expect(bad.headers.get('content-range')).toBe(`bytes */${unet.byteLength}`);
  });

  it('fetchByteSource + block cache read exactly the bytes asked for, in few requests', async () => {
    const url = `${srv.url}model/unet/diffusion_pytorch_model.safetensors`;
    const stats = emptyReadStats();
    const raw = countingByteSource(await fetchByteSource(url), stats);
    const src = blockCachedByteSource(raw, 1 << 16, 4);
    const file = await openSafetensors(src);
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    const reads: [number, number][] = [...file.tensors.values()].map((t) => [t.begin, t.end - t.begin]);
    for (let i = 0; i < 60; i++) {
      const off = Math.floor(rand() * unet.byteLength), len = Math.floor(rand() * Math.min(200_000, unet.byteLength - off));
      reads.push([off, len]);
    }
    const got = await Promise.all(reads.map(([o, n]) => src.read(o, n)));
    reads.forEach(([o, n], i) => expect(Buffer.from(got[i]!).equals(unet.subarray(o, o + n)), `read ${o}+${n}`).toBe(true));
    expect(stats.reads).toBeLessThan(reads.length);
    await expect(src.read(unet.byteLength - 1, 2)).rejects.toThrow(/past the end/);
  });
});
