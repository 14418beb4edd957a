// The model is read through the browser File byte source by byte ranges, never whole: the golden
// model folder is loaded (1) in headless Chromium through <input type=file webkitdirectory> and a
// single .safetensors through <input type=file>, and (2) in Node through File objects, with every
// read recorded (web/model_files.ts countingModelFiles). No read may be longer than the largest
// single tensor of the files read.
import { openAsBlob } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeGpuContext } from '../../src/gpu/device_node.js';
import { loadPipeline } from '../../src/pipeline/load_pipeline.js';
import { fileByteSource } from '../../src/weights/byte_source_node.js';
import { fileListModelFiles, openSafetensors } from '../../src/weights/index.js';
import { countingModelFiles, emptyReadStats } from '../../web/model_files.js';
import { buildAndServe, collectLogs, GOLDEN, launchChromium, waitForPhase, waitForText, type WebServer } from './browser_helpers.js';

const WEIGHT_FILES = ['text_encoder/model.safetensors', 'unet/diffusion_pytorch_model.safetensors', 'vae/diffusion_pytorch_model.safetensors'];
const SINGLE_FILE = 'single_file/tiny-sd14-public.safetensors';

/** Largest tensor (bytes) and largest header (8-byte prefix + JSON) of some safetensors files. */
async function layout(paths: string[]): Promise<{ largestTensor: number; largestHeader: number; sizes: number[] }> {
  let largestTensor = 0, largestHeader = 0;
  const sizes: number[] = [];
  for (const p of paths) {
    const src = await fileByteSource(p);
    try {
      const f = await openSafetensors(src);
      sizes.push(src.size);
      let first = Infinity;
      for (const t of f.tensors.values()) { largestTensor = Math.max(largestTensor, t.end - t.begin); first = Math.min(first, t.begin); }
      largestHeader = Math.max(largestHeader, first);
    } finally {
      await src.close?.();
    }
  }
  return { largestTensor, largestHeader, sizes };
}

interface Reads { reads: number; bytes: number; maxRead: number; maxReadAt: string; opened: Record<string, number> }

function checkReads(reads: Reads, l: { largestTensor: number; largestHeader: number; sizes: number[] }, what: string): void {
  const total = l.sizes.reduce((a, b) => a + b, 0);
  console.log(`${what}: ${reads.reads} reads, ${(reads.bytes / 2 ** 20).toFixed(2)} MiB of ${(total / 2 ** 20).toFixed(2)} MiB in files; ` +
    `largest read ${reads.maxRead} B (${reads.maxReadAt}); largest tensor ${l.largestTensor} B, largest header ${l.largestHeader} B`);
  expect(Object.keys(reads.opened).length).toBe(l.sizes.length);
  expect(l.largestHeader).toBeLessThan(l.largestTensor);
  expect(reads.maxRead).toBeGreaterThan(0);
  expect(reads.maxRead).toBeLessThanOrEqual(l.largestTensor);  // one tensor at most: never a whole file
  expect(reads.maxRead).toBeLessThan(Math.min(...l.sizes));
  expect(reads.bytes).toBeGreaterThan(0.9 * total);            // everything was read ...
  expect(reads.bytes).toBeLessThan(1.1 * total);               // ... about once
}

describe('model files are read by byte ranges', () => {
  let server: WebServer;
  let browser: Browser;
  let page: Page;
  let logs: string[];

  beforeAll(async () => {
    server = await buildAndServe(GOLDEN);     // the golden folder's configs, for the single-file case
    browser = await launchChromium();
    page = await browser.newPage();
    logs = collectLogs(page);
    await page.goto(`${server.url}?autoload=0`);
    await waitForPhase(page, ['ready', 'no-webgpu'], 60_000, logs);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('Chromium: a folder picked with <input webkitdirectory>', async () => {
    await page.setInputFiles('#folder-input', GOLDEN);      // the whole folder, as a user would pick it
    const s = await waitForPhase(page, ['loaded'], 120_000, logs);
    expect(s.loadError, JSON.stringify(s.loadError)).toBeNull();
    expect(s.model!.name).toBe('golden');
    checkReads(s.model!.reads, await layout(WEIGHT_FILES.map((f) => join(GOLDEN, f))), 'Chromium folder');
  }, 180_000);

  it('Chromium: a FileSystemDirectoryHandle (what showDirectoryPicker returns; here from the origin-private file system)', async () => {
    // A picker needs a person; an OPFS folder is the same handle type. Fill it from the server.
    await page.evaluate(async () => {
      const manifest = (await (await fetch('model/files.json')).json()) as { files: { path: string }[] };
      const root = await navigator.storage.getDirectory();
      await root.removeEntry('golden', { recursive: true }).catch(() => undefined);
      const top = await root.getDirectoryHandle('golden', { create: true });
      for (const { path } of manifest.files) {
        const parts = path.split('/');
        let dir = top;
        for (const p of parts.slice(0, -1)) dir = await dir.getDirectoryHandle(p, { create: true });
        const out = await (await dir.getFileHandle(parts[parts.length - 1]!, { create: true })).createWritable();
        await (await fetch(`model/${path}`)).body!.pipeTo(out);
      }
      (window as unknown as { __tether: { loadModel(c: unknown): void } }).__tether.loadModel({ kind: 'directory', handle: top });
    });
    const s = await waitForPhase(page, ['loaded'], 120_000, logs);
    expect(s.loadError, JSON.stringify(s.loadError)).toBeNull();
    expect(s.model!.name).toBe('golden');
    checkReads(s.model!.reads, await layout(WEIGHT_FILES.map((f) => join(GOLDEN, f))), 'Chromium directory handle');
    await page.evaluate(async () => (await navigator.storage.getDirectory()).removeEntry('golden', { recursive: true }));
  }, 180_000);

  it('Chromium: a single .safetensors file (configs read off its tensor shapes, or from the served folder)', async () => {
    // the golden file is not SD 1.4-sized: its configs are inferred from its shapes (src/pipeline/load_pipeline.ts)
    await page.selectOption('#single-config', 'file');
    await page.setInputFiles('#file-input', join(GOLDEN, SINGLE_FILE));
    const inferred = await waitForPhase(page, ['loaded'], 120_000, logs);
    expect(inferred.loadError, JSON.stringify(inferred.loadError)).toBeNull();
    expect(inferred.model!.configSource).toMatch(/^configs: inferred from the tensor shapes of .*tiny-sd14-public\.safetensors/);
    await waitForText(page, '#model-info', 'inferred from the tensor shapes of');

    await page.selectOption('#single-config', 'server');
    await page.setInputFiles('#file-input', join(GOLDEN, SINGLE_FILE));
    const s = await waitForPhase(page, ['loaded'], 120_000, logs);
    expect(s.loadError, JSON.stringify(s.loadError)).toBeNull();
    expect(s.model!.name).toMatch(/tiny-sd14-public\.safetensors$/);
    expect(s.model!.configSource).toMatch(/^configs: the diffusers config folder /);
    checkReads(s.model!.reads, await layout([join(GOLDEN, SINGLE_FILE)]), 'Chromium single file');
  }, 240_000);

  it('Chromium: drag and drop of a .safetensors checkpoint and of an image', async () => {
    // A synthetic drop carries File objects (a folder drop needs a real drag from the desktop).
    await page.selectOption('#single-config', 'server');
    const drop = (url: string, name: string, type: string) => page.evaluate(async ([u, n, t]) => {
      const file = new File([await (await fetch(u!)).blob()], n!, { type: t });
      const dt = new DataTransfer();
      dt.items.add(file);
      window.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, [url, name, type]);
    await drop('model/unet/diffusion_pytorch_model.safetensors', 'unet.safetensors', 'application/octet-stream');
    const bad = await waitForPhase(page, ['loaded'], 60_000, logs);
    expect(bad.loadError?.message).toMatch(/not a Stable Diffusion 1\.x single-file checkpoint.*point at the model folder/);

    const png = 'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEklEQVR4nGP4z8DAAMIM/4EAAB/uBfsL2WiLAAAAAElFTkSuQmCC';
    await drop(`data:image/png;base64,${png}`, 'dropped.png', 'image/png');
    await waitForText(page, '#input-caption', 'dropped.png');
  }, 90_000);

  it('Chromium: a model over the device limits is refused with a message, before any weight is uploaded', async () => {
    const p = await browser.newPage();
    try {
      // pretend the largest GPU buffer is 100 kB: the golden UNet has 295 kB tensors
      await p.goto(`${server.url}?bindingLimit=100000`);
      const s = await waitForPhase(p, ['loaded'], 60_000);
      expect(s.loadError?.tooBig).toBe(true);
      expect(s.loadError?.message).toMatch(/larger than the biggest GPU buffer this device allows/);
      expect(await p.locator('#banner-title').textContent()).toBe('This model is too big for this device');
      expect(await p.locator('#model-status').textContent()).toBe('The model is too big for this device.');
      expect(await p.locator('#run').isDisabled()).toBe(true);
    } finally {
      await p.close();
    }
  }, 90_000);

  it('Node: File objects (file-backed Blobs) through fileListModelFiles', async () => {
    const files: File[] = [];
    async function walk(dir: string): Promise<void> {
      for (const e of await readdir(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else {
          const f = new File([await openAsBlob(p)], e.name);
          Object.defineProperty(f, 'webkitRelativePath', { value: `golden/${relative(GOLDEN, p)}` });
          files.push(f);
        }
      }
    }
    for (const d of ['unet', 'vae', 'text_encoder', 'tokenizer', 'scheduler']) await walk(join(GOLDEN, d));
    const stats = emptyReadStats();
    const ctx = await createNodeGpuContext();
    try {
      const sd = await loadPipeline(ctx, { kind: 'diffusers', files: countingModelFiles(fileListModelFiles(files), stats) }, { weightDtype: 'f32' });
      sd.destroy(ctx);
      expect(sd.name).toBe('golden');
    } finally {
      ctx.device.destroy();
    }
    checkReads(stats, await layout(WEIGHT_FILES.map((f) => join(GOLDEN, f))), 'Node File');
  }, 120_000);
});
