// The page as a first-time user meets it, in headless Chromium (SwiftShader WebGPU): with the
// embedded model the Sample button gives held-out test images with a matching mask and the run
// keeps the unmasked part; a mask file of another size or with ambiguous greys is refused with
// the CLI's rule, and a new image does not inherit the old mask; Width/Height appear only for the
// tasks that use them, and a wrong typed size is named, not reverted; Run says why it is disabled;
// a new run clears the previous result; the downloaded PNG carries the run's parameters; a size
// too big for the device is refused before the run (src/pipeline/device_fit.ts, as the CLI); a
// colour model (the goldens' tiny SD) gets the colourful sample instead.
import { writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tensorToRgba } from '../../src/pipeline/image.js';
import { readPngText } from '../../src/pipeline/png_text.js';
import type { ImageData4 } from '../../src/pipeline/tasks.js';
import type { TaskSpec } from '../../web/task_spec.js';
import { artifactPath, GOLDEN, openServedPage, runOnPage, waitForPhase, waitForText, type WebServer } from './browser_helpers.js';

/** A PNG of size w x h whose pixel (x, y) is grey level v(x, y). */
function greyPng(name: string, w: number, h: number, v: (x: number, y: number) => number): string {
  const png = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const i = 4 * (y * w + x);
    png.data[i] = png.data[i + 1] = png.data[i + 2] = v(x, y);
    png.data[i + 3] = 255;
  }
  const path = artifactPath(name);
  writeFileSync(path, PNG.sync.write(png));
  return path;
}

const caption = (page: Page) => page.locator('#input-caption').textContent();
const prompts = (page: Page) => page.inputValue('#prompt');

describe('the page for a first-time user', () => {
  let server: WebServer;
  let browser: Browser;
  let page: Page;
  let logs: string[];

  beforeAll(async () => {
    ({ server, browser, page, logs } = await openServedPage({ width: 1280, height: 1000 }));
    await page.goto(`${server.url}?task=inpaint`);
    const s = await waitForPhase(page, ['loaded', 'no-webgpu', 'lost'], 120_000, logs);
    expect(s.loadError, JSON.stringify(s.loadError)).toBeNull();
    expect(s.model!.name).toBe('fmnist');                     // the embedded model (weights/fmnist)
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('Sample gives held-out test images with a box mask; mask files follow the CLI rules; a new image starts unmasked', async () => {
    expect(await page.locator('#run').isDisabled()).toBe(true);
    await waitForText(page, '#run-reason', 'Choose an input image');
    expect(await page.locator('#size-row').isVisible()).toBe(false);   // inpainting works at the image's size
    // the table's inpainting defaults (issue 13): 10 steps, K auto at most 5
    expect([await page.inputValue('#steps'), await page.inputValue('#K'), await page.isChecked('#K-auto')]).toEqual(['10', '5', true]);

    await page.click('#sample-image');
    await waitForText(page, '#input-caption', 'held-out test image');
    expect(await caption(page)).toMatch(/^held-out test image \d+ \(t-shirt\) 32×32 → 32×32 · mask: 2\d\d of 1024 pixels to fill$/);
    expect(await prompts(page)).toBe('a t-shirt');
    expect(await page.locator('#run').isEnabled()).toBe(true);
    expect(await page.textContent('#run-reason')).toBe('');
    await page.click('#sample-image');                         // the next class, with its own mask and prompt
    await waitForText(page, '#input-caption', '(trouser)');
    expect(await prompts(page)).toBe('a trouser');
    const sampleCaption = await caption(page);

    // another size: refused with the CLI's message, the mask unchanged
    await page.setInputFiles('#mask-input', greyPng('mask-64.png', 64, 64, (x) => (x < 32 ? 0 : 255)));
    await waitForText(page, '#banner-title', 'Could not use the mask', { exact: true });
    await waitForText(page, '#banner-text', 'mask mask-64.png is 64x64 but image held-out test image');
    await waitForText(page, '#banner-text', 'is 32x32: they must have the same size');
    expect(await caption(page)).toBe(sampleCaption);
    // mid greys: refused as by the CLI
    await page.setInputFiles('#mask-input', greyPng('mask-grey.png', 32, 32, (x) => (x < 16 ? 0 : 128)));
    await waitForText(page, '#banner-text', 'mask mask-grey.png is not binary: pixel (16, 0) is rgb(128, 128, 128)');
    expect(await caption(page)).toBe(sampleCaption);
    // near-black and near-white (say, a re-saved JPEG): thresholded; the right 8 columns are filled
    await page.setInputFiles('#mask-input', greyPng('mask-soft.png', 32, 32, (x) => (x < 24 ? 20 : 240)));
    await waitForText(page, '#input-caption', 'mask: 256 of 1024 pixels to fill');

    // a new image: the old mask does not carry over, and Run says what is missing
    await page.setInputFiles('#image-input', greyPng('plain-32.png', 32, 32, (x, y) => (x + y) * 4));
    await waitForText(page, '#input-caption', 'plain-32.png 32×32 → 32×32 · mask: 0 of 1024 pixels to fill', { exact: true });
    expect(await page.locator('#run').isDisabled()).toBe(true);
    await waitForText(page, '#run-reason', 'Paint the region to fill with the brush');
    await page.screenshot({ path: artifactPath('first-use-new-image.png'), fullPage: true });
  });

  it('a sample inpaints keeping its unmasked part; the download carries the parameters; a new run clears the result', async () => {
    await page.click('#sample-image');
    await waitForText(page, '#input-caption', '(pullover)');
    await runOnPage(page, logs, { prompt: 'a pullover', steps: 4, K: 2, seed: 5 });
    await page.screenshot({ path: artifactPath('first-use-sample-result.png'), fullPage: true });
    const { spec, result } = await page.evaluate(() => {
      const t = (window as unknown as { __tether: { lastSpec: TaskSpec; result: { image: ImageData4 } } }).__tether;
      const arr = (d?: ImageData4) => (d ? { data: Array.from(d.data), shape: d.shape } : undefined);
      return { spec: { ...t.lastSpec, image: arr(t.lastSpec.image)!, mask: arr(t.lastSpec.mask)! }, result: arr(t.result.image)! };
    });
    // known pixels (mask 1) are the test image's: the engine pastes them back after decoding
    // (src/pipeline/keep_known.ts); a VAE round trip alone is off by ~0.1 (25.3 dB PSNR, weights/README.md)
    const n = 32 * 32;
    let known = 0, errKnown = 0;
    for (let i = 0; i < n; i++) {
      if (spec.mask.data[i] !== 1) continue;
      known++;
      for (let c = 0; c < 3; c++) errKnown += Math.abs(result.data[c * n + i]! - spec.image.data[c * n + i]!) / 3;
    }
    console.log(`sample inpainting: known region mean |result - input| = ${(errKnown / known).toFixed(4)} over ${known} pixels`);
    expect(known).toBeGreaterThan(0.7 * n);
    expect(errKnown / known).toBeLessThan(0.01);

    // the download: the shown pixels, with the A1111 text and the JSON of the run
    expect(await page.locator('#download').isVisible()).toBe(true);
    const bytes = Uint8Array.from(await page.evaluate(async () => {
      const a = document.querySelector<HTMLAnchorElement>('#download')!;
      return Array.from(new Uint8Array(await (await fetch(a.href)).arrayBuffer()));
    }));
    const text = readPngText(bytes);
    expect(text['parameters']).toMatch(/^a pullover\nSteps: 4, Sampler: DDIM, CFG scale: 1, Seed: 5, Size: 32x32, Model: fmnist, Tether task: inpaint, Tether method: newton, K: 2, /);
    expect(text['parameters']).toMatch(/Input image: held-out test image \d+ \(pullover\), Input mask: the box mask of held-out test image \d+ \(pullover\), /);
    expect(JSON.parse(text['tether']!)).toMatchObject({ task: 'inpaint', prompt: 'a pullover', seed: 5, steps: 4, K: 2, model: 'fmnist', width: 32, height: 32, weight_dtype: 'f32' });
    expect(text['Software']).toMatch(/^tether-sd \S+ \(web page\)$/);
    const png = PNG.sync.read(Buffer.from(bytes));
    expect(Buffer.from(png.data).equals(Buffer.from(tensorToRgba(Float32Array.from(result.data), 3, 32, 32).data))).toBe(true);

    // a new run: the previous result and its download are gone at once, not shown as this run's
    await page.fill('#steps', '50');
    await page.click('#run');
    const cleared = await page.evaluate(() => ({
      result: (window as unknown as { __tether: { result: unknown } }).__tether.result,
      download: document.querySelector<HTMLElement>('#download')!.hidden,
      empty: document.querySelector<HTMLElement>('#output-empty')!.hidden,
      caption: document.querySelector('#output-caption')!.textContent,
    }));
    expect(cleared).toEqual({ result: null, download: true, empty: false, caption: '' });
    await page.click('#cancel');
    expect((await waitForPhase(page, ['loaded'], 120_000, logs)).runError).toBe('cancelled');
  }, 300_000);

  it('Width and Height appear for generate only; a wrong typed size is named and kept, and Run waits for a valid one', async () => {
    await page.click('#tasks [data-task="generate"]');
    expect(await page.locator('#size-row').isVisible()).toBe(true);
    expect(await page.inputValue('#width')).toBe('32');
    await page.fill('#width', '30');
    await waitForText(page, '#size-msg', 'Width 30: width and height must be multiples of 4 (the VAE factor) from 4 to 2048.', { exact: true });
    expect(await page.inputValue('#width')).toBe('30');       // not reverted behind the user's back
    expect(await page.locator('#run').isDisabled()).toBe(true);
    await waitForText(page, '#run-reason', 'Width 30:');
    await page.fill('#width', '48');
    await waitForText(page, '#size-msg', '', { exact: true });
    expect(await page.locator('#run').isEnabled()).toBe(true);
    expect(await page.evaluate(() => {
      const s = (window as unknown as { __tether: { specNow(): TaskSpec } }).__tether.specNow();
      return [s.width, s.height];
    })).toEqual([48, 32]);
    for (const t of ['inpaint', 'superres', 'deblur', 'colorize']) {
      await page.click(`#tasks [data-task="${t}"]`);
      expect(await page.locator('#size-row').isVisible(), t).toBe(false);
    }
  });

  it('a size too big for the device is refused before the run starts, naming the buffer and the largest size that fits', async () => {
    // 1 MiB: every weight fits (the largest is 288 kB; the token embedding stays on the CPU), a 512 px image does not
    await page.goto(`${server.url}?task=generate&bindingLimit=${2 ** 20}`);
    expect((await waitForPhase(page, ['loaded'], 120_000, logs)).loadError).toBeNull();
    await page.fill('#width', '512');
    await page.fill('#height', '512');
    await page.click('#run');
    const s = await waitForPhase(page, ['loaded'], 60_000, logs);
    expect(s.runError).toMatch(/^A 512×512 result needs a \d+(\.\d)? MB buffer \(.+\); this device allows 1\.0 MB\. The largest square image that fits is \d+×\d+\.$/);
    expect(s.previews).toBe(0);
    expect(s.hasResult).toBe(false);
    await waitForText(page, '#banner-title', 'The task failed', { exact: true });
  }, 180_000);

  it('a colour model gets the colourful sample picture', async () => {
    await page.setInputFiles('#folder-input', GOLDEN);          // the goldens' tiny SD: no held-out test set
    const s = await waitForPhase(page, ['loaded'], 120_000, logs);
    expect(s.model!.name).toBe('golden');
    await page.click('#tasks [data-task="inpaint"]');
    await page.click('#sample-image');
    await waitForText(page, '#input-caption', 'sample picture 256×256 → ');
    const native = s.model!.nativeSize;
    expect(await caption(page)).toContain(`→ ${native}×${native} (scaled to the model's native ${native} px)`);
    const grey = await page.evaluate(() => {
      const c = document.querySelector<HTMLCanvasElement>('#input-canvas')!;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let spread = 0;
      for (let i = 0; i < d.length; i += 4) spread += Math.max(d[i]!, d[i + 1]!, d[i + 2]!) - Math.min(d[i]!, d[i + 1]!, d[i + 2]!);
      return spread / (d.length / 4);
    });
    expect(grey).toBeGreaterThan(20);                          // colourful: channels differ
  }, 180_000);
});
