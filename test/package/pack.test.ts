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
});
