// Every bad input to the task commands ends with exit code != 0, one clear line naming the
// file / tensor / argument, and no output file left behind.
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { encodeSafetensors } from '../../src/weights/safetensors_write.js';
import { fileByteSource } from '../../src/weights/byte_source_node.js';
import { openSafetensors } from '../../src/weights/safetensors.js';
import { GOLDEN_DIR } from '../helpers/golden.js';
import { expectFailure as expectFailureIn, png, tether, type Outcome } from './cli_harness.js';

const dir = mkdtempSync(join(tmpdir(), 'tether-cli-'));
const out = join(dir, 'out.png');

const img64 = png(join(dir, 'img64.png'), 64, 64, (x, y) => [x * 4, y * 4, 128]);
const img32 = png(join(dir, 'img32.png'), 32, 32, (x) => [x * 8, 0, 0]);
const mask64 = png(join(dir, 'mask64.png'), 64, 64, (x) => (x < 32 ? [0, 0, 0] : [255, 255, 255]));
const maskGrey = png(join(dir, 'maskgrey.png'), 64, 64, (x) => (x < 32 ? [0, 0, 0] : [128, 128, 128]));
const img12 = png(join(dir, 'img12.png'), 12, 12, () => [10, 20, 30]);

function expectFailure(r: Outcome, pattern: RegExp): void {
  expectFailureIn(r, pattern, dir, [out]);
}

const model = ['--model', GOLDEN_DIR, '-o', out, '-q'];

describe('tether CLI errors', () => {
  test('unknown option', async () => expectFailure(await tether('inpaint', '-i', img64, '--mask', mask64, '--bogus', '1', ...model), /unknown option '--bogus'/));
  test('missing required option', async () => expectFailure(await tether('inpaint', '-i', img64, ...model), /required option '--mask <file>' not specified/));
  test('missing input file', async () => expectFailure(await tether('inpaint', '-i', join(dir, 'nope.png'), '--mask', mask64, ...model), /nope\.png.*(no such file|ENOENT)/));
  test('input that is not a PNG', async () => {
    const bad = join(dir, 'bad.png');
    writeFileSync(bad, 'not a png');
    expectFailure(await tether('superres', '-i', bad, ...model), /bad\.png is not a readable PNG/);
  });
  test('image / mask size mismatch', async () => expectFailure(await tether('inpaint', '-i', img32, '--mask', mask64, ...model), /mask .* is 64x64 but image .* is 32x32/));
  test('mask not binary', async () => expectFailure(await tether('inpaint', '-i', img64, '--mask', maskGrey, ...model), /not binary: pixel \(32, 0\) is rgb\(128, 128, 128\)/));
  test('safetensors mask not binary', async () => {
    const f = join(dir, 'mask.safetensors');
    writeFileSync(f, encodeSafetensors({ mask: { dtype: 'F32', shape: [1, 1, 64, 64], data: new Float32Array(4096).fill(0.5) } }));
    expectFailure(await tether('inpaint', '-i', img64, '--mask', f, ...model), /mask is not binary: value 0\.5/);
  });
  test('safetensors image without the `image` tensor', async () => {
    const f = join(dir, 'img.safetensors');
    writeFileSync(f, encodeSafetensors({ picture: { dtype: 'F32', shape: [1, 3, 64, 64], data: new Float32Array(3 * 4096) } }));
    expectFailure(await tether('inpaint', '-i', f, '--mask', mask64, ...model), /missing tensor 'image'.*it has: picture/);
  });
  test('scale that does not fit the VAE factor', async () => expectFailure(await tether('superres', '-i', img12, '--scale', '3', ...model), /times --scale 3 must be a multiple of 8/));
  test('bad scale value', async () => expectFailure(await tether('superres', '-i', img12, '--scale', '2.5', ...model), /--scale must be an integer/));
  test('steps that do not divide 1000', async () => expectFailure(await tether('inpaint', '-i', img64, '--mask', mask64, '--steps', '7', ...model), /--steps must divide 1000/));
  test('bad learning rate', async () => expectFailure(await tether('inpaint', '-i', img64, '--mask', mask64, '--lr', '0.5:x', ...model), /--lr must be/));
  test('the replace baseline with pixel-space inpainting', async () => expectFailure(
    await tether('inpaint', '-i', img64, '--mask', mask64, '--inpaint-space', 'pixel', '--method', 'replace', ...model), /--method replace .* needs --inpaint-space latent/));
  test('unknown inpaint space', async () => expectFailure(
    await tether('inpaint', '-i', img64, '--mask', mask64, '--inpaint-space', 'rgb', ...model), /argument 'rgb' is invalid/));
  test('style guidance without CLIP weights', async () => expectFailure(await tether('style', '--style-image', img64, '-p', 'a dress', ...model), /needs CLIP ViT-B\/16 vision weights \(--clip PATH\)/));
  test('missing model', async () => expectFailure(await tether('inpaint', '-i', img64, '--mask', mask64, '--model', join(dir, 'nomodel'), '-o', out), /nomodel: no such file or directory/));

  test('NaN appearing during sampling (finite weights, a learning rate that overflows)', async () => {
    // the sampler checks every step's latent on the GPU and stops with the step and time named
    expectFailure(await tether('inpaint', '-i', img64, '--mask', mask64, '--steps', '2', '--K', '1', '--lr', '1e38', ...model),
      /sampling diverged: non-finite values \(NaN\/Inf\) in sample 0 at step 1 \(t=1000\); try a smaller --lr or --h/);
  });

  test('NaN weights', async () => {
    // a copy of the golden model whose UNet conv_out bias is NaN: refused at load, the tensor named (src/weights)
    const m = join(dir, 'nan-model');
    cpSync(GOLDEN_DIR, m, { recursive: true, filter: (s) => !s.includes('goldens') && !s.includes('single_file') && !s.includes('sd14_configs') });
    const unetPath = join(m, 'unet', 'diffusion_pytorch_model.safetensors');
    const f = await openSafetensors(await fileByteSource(unetPath));
    const tensors: Parameters<typeof encodeSafetensors>[0] = {};
    for (const [name, info] of f.tensors) {
      const data = await f.readF32(name);
      if (name === 'conv_out.bias') data.fill(NaN);
      tensors[name] = { dtype: 'F32', shape: [...info.shape], data };
    }
    await f.source.close?.();
    writeFileSync(unetPath, encodeSafetensors(tensors));
    expectFailure(await tether('inpaint', '-i', img64, '--mask', mask64, '--steps', '5', '--K', '1', '--model', m, '-o', out, '-q'), /diffusion_pytorch_model\.safetensors: tensor conv_out\.bias has 4 non-finite values \(NaN\/Inf\)/);
  }, 300_000);

  test('a good run writes the PNG with its parameters', async () => {
    const r = await tether('inpaint', '-i', img64, '--mask', mask64, '--steps', '5', '--K', '1', '--seed', '3', ...model);
    expect(r.code, r.message).toBe(0);
    const { readPngText } = await import('../../src/cli/png_node.js');
    const { readFileSync, unlinkSync } = await import('node:fs');
    const params = JSON.parse(readPngText(readFileSync(out)).tether!);
    expect(params).toMatchObject({ task: 'inpaint', seed: 3, steps: 5, K: 1, method: 'newton', schedule: 'exact' });
    unlinkSync(out);
  }, 300_000);
});
