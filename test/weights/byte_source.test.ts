import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobByteSource, bufferByteSource, fetchByteSource } from '../../src/weights/byte_source.js';
import { fileByteSource } from '../../src/weights/byte_source_node.js';
import { directoryHandleModelFiles, fileListModelFiles, type DirectoryHandleLike } from '../../src/weights/model_source.js';
import { openSafetensors } from '../../src/weights/safetensors.js';
import { encodeSafetensors } from '../../src/weights/safetensors_write.js';
import { GOLDEN } from './helpers.js';

const BYTES = encodeSafetensors({ x: { dtype: 'F32', shape: [3], data: new Float32Array([1, 2, 3]) } });

describe('fetchByteSource (HTTP Range)', () => {
  let server: Server;
  let base = '';
  const seen: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers.range ?? ''}`);
      const noHead = req.url === '/nohead';
      if (req.url === '/norange') { res.writeHead(200, { 'content-length': BYTES.byteLength }); res.end(Buffer.from(BYTES)); return; }
      if (req.method === 'HEAD') {
        if (noHead) { res.writeHead(405); res.end(); return; }
        res.writeHead(200, { 'content-length': BYTES.byteLength }); res.end(); return;
      }
      const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
      if (!m) { res.writeHead(200); res.end(Buffer.from(BYTES)); return; }
      const [a, b] = [Number(m[1]), Math.min(Number(m[2]), BYTES.byteLength - 1)];
      res.writeHead(206, { 'content-range': `bytes ${a}-${b}/${BYTES.byteLength}`, 'content-length': b - a + 1 });
      res.end(Buffer.from(BYTES.subarray(a, b + 1)));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('reads a safetensors file by ranges, sizing it with HEAD', async () => {
    const src = await fetchByteSource(`${base}/model.safetensors`);
    expect(src.size).toBe(BYTES.byteLength);
    const f = await openSafetensors(src);
    expect(Array.from(await f.readF32('x'))).toEqual([1, 2, 3]);
    expect(seen.filter((s) => s.startsWith('GET')).every((s) => /bytes=\d+-\d+$/.test(s))).toBe(true);
  });

  it('falls back to a one-byte range probe when HEAD fails', async () => {
    const src = await fetchByteSource(`${base}/nohead`);
    expect(src.size).toBe(BYTES.byteLength);
    expect(Array.from(await src.read(0, 4))).toEqual(Array.from(BYTES.subarray(0, 4)));
  });

  it('refuses a server that ignores Range instead of downloading everything', async () => {
    await expect(fetchByteSource(`${base}/norange`).then((s) => s.read(8, 4))).rejects.toThrow(/norange: expected HTTP 206 .* Range/);
  });
});

describe('other byte sources', () => {
  it('bounds-checks reads and names the source', async () => {
    const src = bufferByteSource(new Uint8Array(10), 'ten.bin');
    await expect(src.read(8, 4)).rejects.toThrow('ten.bin: read of 4 bytes at offset 8 runs past the end of the file (10 bytes)');
    await expect(src.read(-1, 1)).rejects.toThrow(/ten\.bin: invalid read range/);
    const blob = blobByteSource(new Blob([new Uint8Array([1, 2, 3])]), 'b');
    expect(Array.from(await blob.read(1, 2))).toEqual([2, 3]);
    await expect(blob.read(2, 2)).rejects.toThrow(/b: read of 2 bytes/);
  });

  it('reads a Node file by position and refuses reads after close', async () => {
    const src = await fileByteSource(`${GOLDEN}goldens/unet_output.safetensors`);
    expect(src.size).toBe(8312);
    expect((await src.read(8300, 12)).byteLength).toBe(12);
    await src.close!();
    await src.close!();
    await expect(src.read(0, 8)).rejects.toThrow(/read after close/);
    await expect(fileByteSource(`${GOLDEN}does-not-exist`)).rejects.toThrow(/ENOENT/);
  });
});

describe('browser model folders', () => {
  const file = (path: string, body: BlobPart) => {
    const f = new File([body], path.split('/').pop()!);
    Object.defineProperty(f, 'webkitRelativePath', { value: path });
    return f;
  };

  it('fileListModelFiles strips the picked folder name', async () => {
    const files = fileListModelFiles([file('sd14/unet/config.json', '{"a":1}'), file('sd14/unet/diffusion_pytorch_model.safetensors', BYTES)]);
    expect(files.name).toBe('sd14');
    expect((await files.list()).sort()).toEqual(['unet/config.json', 'unet/diffusion_pytorch_model.safetensors']);
    expect(await files.readText('unet/config.json')).toBe('{"a":1}');
    expect(await files.readText('vae/config.json')).toBeNull();
    const src = (await files.open('unet/diffusion_pytorch_model.safetensors'))!;
    expect(Array.from(await (await openSafetensors(src)).readF32('x'))).toEqual([1, 2, 3]);
  });

  it('directoryHandleModelFiles walks a FileSystemDirectoryHandle', async () => {
    type Tree = { [name: string]: Tree | File };
    const handle = (name: string, tree: Tree): DirectoryHandleLike => ({
      kind: 'directory', name,
      async getDirectoryHandle(n) {
        const t = tree[n];
        if (!t || t instanceof File) throw Object.assign(new Error(n), { name: 'NotFoundError' });
        return handle(n, t);
      },
      async getFileHandle(n) {
        const t = tree[n];
        if (!(t instanceof File)) throw Object.assign(new Error(n), { name: t ? 'TypeMismatchError' : 'NotFoundError' });
        return { getFile: async () => t };
      },
      async *values() {
        for (const [n, t] of Object.entries(tree)) yield { kind: t instanceof File ? 'file' as const : 'directory' as const, name: n };
      },
    });
    const files = directoryHandleModelFiles(handle('model', { unet: { 'config.json': new File(['{}'], 'config.json') }, 'model_index.json': new File(['{"x":1}'], 'model_index.json') }));
    expect((await files.list()).sort()).toEqual(['model_index.json', 'unet/config.json']);
    expect(await files.readText('unet/config.json')).toBe('{}');
    expect(await files.open('vae/config.json')).toBeNull();
    expect(await files.open('unet')).toBeNull();
  });
});
