// The package as an application meets it: `npm pack`, install the tarball into a fresh project,
// and run an inpainting script that imports only 'tether-sd' and 'tether-sd/node' with the
// embedded model. Checks the exports map, the declarations, one shared copy of the classes in
// both entries, the metadata written with the PNG, and that the known pixels are kept.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { readPngText } from '../../src/cli/png_node.js';
import { serveWeb } from '../../tools/serve_web.mjs';
import { launchChromium } from '../e2e/browser_helpers.js';

const sh = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'tether-pack-'));
const app = join(work, 'app');

function png(path: string, w: number, h: number, px: (x: number, y: number) => number): string {
  const p = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) { const v = px(x, y); p.data.set([v, v, v, 255], 4 * (y * w + x)); }
  writeFileSync(path, PNG.sync.write(p));
  return path;
}

const SCRIPT = `
import { openPipeline, readImage, readMask, writeImage, SdPipeline as NodeSdPipeline, TASKS } from 'tether-sd/node';
import { SdPipeline, validateRequest } from 'tether-sd';
const pipe = await openPipeline(undefined, { variantCache: false });
const image = await readImage(process.argv[2]), mask = await readMask(process.argv[3]);
const problems = validateRequest({ task: 'inpaint', image, steps: 30 }, { factor: pipe.factor });
const r = await pipe.run({ task: 'inpaint', image, mask, seed: 1, steps: 2, K: 1 });
const paths = await writeImage(process.argv[4], r.images, r.parameters);
console.log(JSON.stringify({ sameClass: SdPipeline === NodeSdPipeline && pipe instanceof SdPipeline, tasks: Object.keys(TASKS),
  problems: problems.map((p) => p.field), paths, evals: r.evals, parameters: r.parameters }));
pipe.destroy();
`;

let tarball = '';
beforeAll(async () => {
  await sh('npm', ['pack', '--pack-destination', work, '--silent'], { cwd: ROOT, timeout: 300_000, maxBuffer: 1 << 24 });
  tarball = join(work, readdirSync(work).find((f) => f.endsWith('.tgz'))!);
  await sh('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  await sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel', 'error', tarball], { cwd: app, timeout: 400_000, maxBuffer: 1 << 24 });
}, 700_000);

describe('npm pack -> fresh project', () => {
  test('the tarball holds the built library, its types, the CLI and the embedded model', async () => {
    const { stdout } = await sh('tar', ['-tzf', tarball], { maxBuffer: 1 << 26 });
    for (const f of ['package/dist/lib/index.js', 'package/dist/lib/node.js', 'package/dist/lib/tether.browser.js', 'package/dist/types/src/index.d.ts',
      'package/dist/types/src/node.d.ts', 'package/dist/tether.mjs', 'package/weights/fmnist/unet/config.json']) expect(stdout.split('\n')).toContain(f);
    const pkg = JSON.parse(readFileSync(join(app, 'node_modules/tether-sd/package.json'), 'utf8'));
    expect(Object.keys(pkg.exports)).toEqual(expect.arrayContaining(['.', './node', './browser']));
  });

  test('an inpainting script importing only tether-sd and tether-sd/node runs the embedded model', async () => {
    const image = png(join(work, 'in.png'), 32, 32, (x, y) => (Math.abs(x - 16) < 9 && y > 4 && y < 28 ? 200 : 20));
    const mask = png(join(work, 'mask.png'), 32, 32, (x, y) => (x >= 10 && x < 22 && y >= 8 && y < 24 ? 255 : 0));
    writeFileSync(join(app, 'inpaint.mjs'), SCRIPT);
    const out = join(app, 'out.png');
    const { stdout } = await sh(process.execPath, ['inpaint.mjs', image, mask, out], { cwd: app, timeout: 300_000, maxBuffer: 1 << 24 });
    const r = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(r.sameClass).toBe(true);
    expect(r.tasks).toEqual(['generate', 'inpaint', 'superres', 'deblur', 'colorize', 'style']);
    expect(r.problems).toEqual(['steps', 'mask']);          // 30 does not divide 1000; no mask given
    expect(r.paths).toEqual([out]);
    expect(r.evals).toBe(2 * (1 + 2 * 1));
    expect(r.parameters).toMatchObject({ task: 'inpaint', seed: 1, steps: 2, K: 1, lr: [0.5, 0.1], keep_known: true, software: expect.stringMatching(/^tether-sd /) });
    expect(r.parameters.model).toContain(join('node_modules', 'tether-sd', 'weights', 'fmnist'));
    expect(existsSync(out)).toBe(true);
    const text = readPngText(readFileSync(out));
    expect(JSON.parse(text.tether!)).toMatchObject({ task: 'inpaint', seed: 1 });
    expect(text.parameters).toMatch(/Steps: 2, .*Seed: 1/);
    // the known pixels are the input's
    const a = PNG.sync.read(readFileSync(image)).data, b = PNG.sync.read(readFileSync(out)).data;
    for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) {
      if (x >= 10 && x < 22 && y >= 8 && y < 24) continue;
      expect(b[4 * (y * 32 + x)], `(${x}, ${y})`).toBe(a[4 * (y * 32 + x)]);
    }
  }, 300_000);

  test('a page importing only tether-sd (an import map to the packed browser build) inpaints with the embedded model', async () => {
    writeFileSync(join(app, 'index.html'), PAGE);
    const srv = await serveWeb({ root: app, modelDir: join(app, 'node_modules', 'tether-sd', 'weights', 'fmnist'), port: 0 });
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const logs: string[] = [];
      page.on('pageerror', (e) => logs.push(e.message));
      await page.goto(srv.url);
      await page.waitForFunction(() => (window as unknown as { result?: unknown }).result, null, { timeout: 280_000 });
      const r = await page.evaluate(() => (window as unknown as { result: Record<string, unknown> }).result);
      expect(r.error, `${String(r.error)}\n${logs.join('\n')}`).toBeUndefined();
      expect(r).toMatchObject({ shape: [1, 3, 32, 32], evals: 2 * (1 + 2 * 1), knownMaxDiff: 0, tasks: 6 });
      expect(r.loaded as number).toBeGreaterThan(1e6);                  // byte progress was reported (weights of the UNet alone ~6 MB)
      expect(String(r.adapter)).not.toBe('');
    } finally {
      await browser.close();
      await srv.close();
    }
  }, 300_000);
});

const PAGE = `<!doctype html><meta charset="utf-8"><title>tether-sd from a page</title>
<script type="importmap">{ "imports": { "tether-sd": "/node_modules/tether-sd/dist/lib/tether.browser.js" } }</script>
<script type="module">
import { SdPipeline, TASKS, urlModelFiles } from 'tether-sd';
try {
  let loaded = 0;
  const pipe = await SdPipeline.open(await urlModelFiles('/model/'), { onProgress: (p) => { loaded = Math.max(loaded, p.loadedAll ?? 0); } });
  const S = pipe.nativeSize;
  const image = new Float32Array(3 * S * S).map((_, i) => ((i % S) > 8 && (i % S) < 24 ? 0.6 : -0.8));
  const mask = new Float32Array(S * S).map((_, i) => { const x = i % S, y = Math.floor(i / S); return x >= 10 && x < 22 && y >= 8 && y < 24 ? 0 : 1; });
  const r = await pipe.run({ task: 'inpaint', image: { data: image, shape: [1, 3, S, S] }, mask: { data: mask, shape: [1, 1, S, S] }, seed: 1, steps: 2, K: 1 });
  let knownMaxDiff = 0;
  for (let c = 0; c < 3; c++) for (let i = 0; i < S * S; i++) if (mask[i]) knownMaxDiff = Math.max(knownMaxDiff, Math.abs(r.images.data[c * S * S + i] - image[c * S * S + i]));
  window.result = { shape: r.images.shape, evals: r.evals, knownMaxDiff, adapter: pipe.adapter, loaded, tasks: Object.keys(TASKS).length };
  pipe.destroy();
} catch (e) {
  window.result = { error: String(e && e.stack || e) };
}
</script>`;
