// The page's rules as pure logic, without a browser: the shared mask rule (src/pipeline/mask_rules.ts,
// also the CLI's), the PNG text chunks of the download (src/pipeline/png_text.ts), when Run is
// disabled and why (web/ui/run_guard.ts), sizes (web/ui/sizes.ts) and the Sample pictures of the
// embedded model (web/ui/samples.ts).
import { crc32 as zlibCrc32 } from 'node:zlib';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { maskFromRgba, maskSizeProblem } from '../../src/pipeline/mask_rules.js';
import { a1111Parameters, crc32, readPngText, withPngText } from '../../src/pipeline/png_text.js';
import { CLASS_PROMPTS, loadTestSet } from '../../src/quality/fmnist_data.js';
import { nodeModelFiles } from '../../src/weights/model_source_node.js';
import { resultText } from '../../web/ui/download.js';
import { runBlockers, type RunFacts } from '../../web/ui/run_guard.js';
import { firstOfEachClass, heldOutSamples } from '../../web/ui/samples.js';
import { fitImage, typedSizeProblem, usesTypedSize } from '../../web/ui/sizes.js';
import { NO_CLIP_MESSAGE, type TaskSpec } from '../../web/task_spec.js';

/** A 1-row RGBA image of the given grey levels. */
const row = (...levels: number[]) => ({ width: levels.length, height: 1, data: Uint8Array.from(levels.flatMap((v) => [v, v, v, 255])) });

describe('mask rule (page and CLI)', () => {
  it('white fills, black keeps, near-black and near-white are thresholded', () => {
    expect([...maskFromRgba(row(0, 255, 40, 230, 63, 192))]).toEqual([1, 0, 1, 0, 1, 0]);
  });
  it('refuses ambiguous greys and colours, naming the first pixel and the count', () => {
    expect(() => maskFromRgba(row(0, 128, 100, 255), 'mask m.png')).toThrow(/mask m\.png is not binary: pixel \(1, 0\) is rgb\(128, 128, 128\) \(and 1 more pixel is grey\)/);
    const red = { width: 1, height: 1, data: Uint8Array.from([255, 0, 0, 255]) };
    expect(() => maskFromRgba(red)).toThrow(/pixel \(0, 0\) is rgb\(255, 0, 0\)/);
  });
  it('a mask of another size than its image is refused, not resized', () => {
    expect(maskSizeProblem('m.png', 32, 32, 'a.png', 32, 32)).toBeNull();
    expect(maskSizeProblem('m.png', 64, 64, 'a.png', 32, 32)).toBe('mask m.png is 64x64 but image a.png is 32x32: they must have the same size');
  });
});

describe('PNG text chunks', () => {
  const png = () => { const p = new PNG({ width: 2, height: 2 }); p.data.fill(200); return new Uint8Array(PNG.sync.write(p)); };

  it('crc32 is the PNG / zlib checksum', () => {
    const bytes = new TextEncoder().encode('IEND and some text');
    expect(crc32(bytes)).toBe(zlibCrc32(bytes) >>> 0);
  });
  it('iTXt entries read back (UTF-8 kept) and the PNG still decodes', () => {
    const out = withPngText(png(), { parameters: 'ein Mantel — «coat»\nSteps: 4', tether: '{"seed":1}' });
    expect(readPngText(out)).toEqual({ parameters: 'ein Mantel — «coat»\nSteps: 4', tether: '{"seed":1}' });
    const back = PNG.sync.read(Buffer.from(out));
    expect([back.width, back.height, back.data[0]]).toEqual([2, 2, 200]);
  });
  it('a corrupted text chunk is detected', () => {
    const out = withPngText(png(), { parameters: 'a coat' });
    out[out.indexOf(0x61, 40)] ^= 1;                         // flip a bit in 'a coat'
    expect(() => readPngText(out)).toThrow(/bad CRC/);
  });
  it('the A1111 text: prompt, negative prompt, then Key: value pairs (quoted when they hold a comma)', () => {
    const t = a1111Parameters({ prompt: 'a coat', negativePrompt: 'blurry', steps: 4, guidance: 1, seed: 7, width: 32, height: 32,
      model: 'fmnist', extra: { Task: 'inpaint', 'Learning rate': [0.5, 0.1], Note: 'a, b', Skip: undefined } });
    expect(t).toBe('a coat\nNegative prompt: blurry\nSteps: 4, Sampler: DDIM, CFG scale: 1, Seed: 7, Size: 32x32, Model: fmnist, ' +
      'Task: inpaint, Learning rate: "0.5:0.1", Note: "a, b"');
  });
  it('the page writes the A1111 text and the JSON of the run (no pixels), with the CLI\'s keys', () => {
    const spec: TaskSpec = { task: 'inpaint', prompt: 'a coat', negativePrompt: '', guidance: 1, steps: 4, K: 2, lr: [0.5, 0.1], h: 0.005,
      schedule: 'exact', method: 'newton', seed: 1234, inpaintSpace: 'latent',
      image: { data: new Float32Array(3 * 4), shape: [1, 3, 2, 2] }, mask: { data: new Float32Array(4), shape: [1, 1, 2, 2] } };
    const t = resultText(spec, { model: 'fmnist', weightDtype: 'f32', adapter: 'swiftshader', width: 2, height: 2, inputs: { image: 'coat.png', mask: 'painted', style_image: undefined } });
    expect(Object.keys(t)).toEqual(['parameters', 'tether', 'Software']);
    expect(t['parameters']).toMatch(/^a coat\nSteps: 4, Sampler: DDIM, CFG scale: 1, Seed: 1234, Size: 2x2, Model: fmnist, Tether task: inpaint, Tether method: newton, K: 2, lr: "0\.5:0\.1", /);
    expect(t['parameters']).toContain('Input image: coat.png, Input mask: painted, inpaint_space: latent, Weight dtype: f32, Version: tether-sd ');
    const json = JSON.parse(t['tether']!);
    expect(json).toMatchObject({ task: 'inpaint', seed: 1234, K: 2, lr: [0.5, 0.1], model: 'fmnist', negative_prompt: '', inpaint_space: 'latent', inputs: { image: 'coat.png', mask: 'painted' } });
    expect(JSON.stringify(json)).not.toMatch(/"data"|style_image|style_weight|scale/);
  });
});

describe('run guard', () => {
  const ok: RunFacts = { phase: 'loaded', task: 'inpaint', hasImage: true, maskPixels: 10, sizeProblem: null, styleActive: false, hasStyleImage: false, clipPhase: 'none' };
  it('enables Run when the inputs are there', () => {
    expect(runBlockers(ok)).toEqual([]);
    expect(runBlockers({ ...ok, task: 'generate', hasImage: false, maskPixels: 0 })).toEqual([]);
  });
  it('says why Run is disabled', () => {
    expect(runBlockers({ ...ok, phase: 'ready' })).toEqual(['Load a model first.']);
    expect(runBlockers({ ...ok, hasImage: false })[0]).toMatch(/^Choose an input image/);
    expect(runBlockers({ ...ok, maskPixels: 0 })).toEqual(['Paint the region to fill with the brush (or pick a mask file).']);
    expect(runBlockers({ ...ok, task: 'generate', sizeProblem: 'Width 30: ...' })).toEqual(['Width 30: ...']);
  });
  it('Style cannot start without a reference image or without CLIP weights', () => {
    const style = { ...ok, task: 'style' as const, hasImage: false, maskPixels: 0, styleActive: true };
    expect(runBlockers(style)).toEqual(['Style needs a style reference image: choose one under Style.', NO_CLIP_MESSAGE]);
    expect(runBlockers({ ...style, hasStyleImage: true })).toEqual([NO_CLIP_MESSAGE]);
    expect(runBlockers({ ...style, hasStyleImage: true, clipPhase: 'loading' })).toEqual(['The CLIP weights are loading.']);
    expect(runBlockers({ ...style, hasStyleImage: true, clipPhase: 'loaded' })).toEqual([]);
    expect(runBlockers({ ...ok, styleActive: true, clipPhase: 'loaded' })).toEqual(['Choose a style reference image, or untick the style option.']);
  });
});

describe('sizes', () => {
  it('only generate and style take Width x Height', () => {
    expect((['generate', 'style', 'inpaint', 'superres', 'deblur', 'colorize'] as const).filter(usesTypedSize)).toEqual(['generate', 'style']);
  });
  it('a typed size out of range gets a message naming it', () => {
    expect(typedSizeProblem('32', '64', 4)).toBeNull();
    expect(typedSizeProblem('30', '64', 4)).toBe('Width 30: width and height must be multiples of 4 (the VAE factor) from 4 to 2048.');
    expect(typedSizeProblem('4096', '', 8)).toBe('Width 4096 and Height (empty): width and height must be multiples of 8 (the VAE factor) from 8 to 2048.');
  });
  it('an input image is used at its own size, scaled down to the native size, rounded to the factor', () => {
    expect(fitImage(32, 32, 4, 32)).toEqual({ width: 32, height: 32, inputWidth: 32, inputHeight: 32, note: null });
    expect(fitImage(30, 28, 4, 32)).toMatchObject({ width: 32, height: 28, note: 'rounded to multiples of 4 (the VAE factor)' });
    expect(fitImage(4032, 3024, 8, 512)).toMatchObject({ width: 512, height: 384, note: "scaled to the model's native 512 px" });
    // super-resolution: the input x scale must be a multiple of the factor
    expect(fitImage(10, 8, 8, 32, 4)).toMatchObject({ inputWidth: 10, inputHeight: 8, width: 40, height: 32, note: null });
    expect(fitImage(9, 8, 8, 32, 4)).toMatchObject({ inputWidth: 10, width: 40 });
  });
});

describe('samples of the embedded model', () => {
  it('one held-out test image per class, each with a quarter-size box mask and its class as the prompt', async () => {
    expect(firstOfEachClass([3, 1, 3, 0], 4)).toEqual([3, 1, 0]);
    const set = await loadTestSet(nodeModelFiles('weights/fmnist'), 100);
    const samples = heldOutSamples(set);
    expect(samples.map((s) => s.prompt)).toEqual([...CLASS_PROMPTS]);
    for (const s of samples) {
      expect([s.width, s.height, s.rgba.length, s.fill.length]).toEqual([32, 32, 4 * 32 * 32, 32 * 32]);
      const filled = s.fill.reduce((a, v) => a + v, 0) / s.fill.length;
      expect(filled).toBeGreaterThan(0.2);
      expect(filled).toBeLessThan(0.3);
      // grey (R = G = B), the 2 px padding is background (black), and there is a garment
      for (let i = 0; i < 32 * 32; i++) expect(s.rgba[4 * i]).toBe(s.rgba[4 * i + 2]);
      expect(s.rgba[0]).toBe(0);
      expect(Math.max(...s.rgba.filter((_, i) => i % 4 === 0))).toBeGreaterThan(128);
    }
    expect(samples[4]!.name).toMatch(/^held-out test image \d+ \(coat\)$/);
  });
});
