// Issue 11 §3 (honest output) and the batch part of §2: what the CLI writes and says is what
// happened — the files it names, PNG metadata as the user gave the run (UTF-8 prompt, guidance
// as typed, input names, dtype, size, adapter, version), and --help that matches the code.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { readPngText } from '../../src/cli/png_node.js';
import { encodeSafetensors } from '../../src/weights/safetensors_write.js';
import { GOLDEN_DIR } from '../helpers/golden.js';
import { png, tether } from './cli_harness.js';

const dir = mkdtempSync(join(tmpdir(), 'tether-output-'));
const img64 = png(join(dir, 'img64.png'), 64, 64, (x, y) => [x * 4, y * 4, 128]);
const mask64 = png(join(dir, 'mask64.png'), 64, 64, (x) => (x < 32 ? [0, 0, 0] : [255, 255, 255]));
const version = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')).version as string;

describe('outputs', () => {
  test('a batch of 2 writes x-0.png and x-1.png, says so, and leaves an old x.png alone', async () => {
    const o = join(dir, 'x.png');
    writeFileSync(o, 'old');
    const img = join(dir, 'two.safetensors'), mask = join(dir, 'two-mask.safetensors');
    const m = new Float32Array(2 * 4096).map((_, i) => (i % 64 < 32 ? 1 : 0));
    writeFileSync(img, encodeSafetensors({ image: { dtype: 'F32', shape: [2, 3, 64, 64], data: new Float32Array(2 * 3 * 4096).fill(0.2) } }));
    writeFileSync(mask, encodeSafetensors({ mask: { dtype: 'F32', shape: [2, 1, 64, 64], data: m } }));
    const r = await tether('inpaint', '-i', img, '--mask', mask, '--steps', '2', '--K', '1', '--seed', '1', '--model', GOLDEN_DIR, '-o', o);
    expect(r.code, r.message).toBe(0);
    expect(existsSync(join(dir, 'x-0.png')) && existsSync(join(dir, 'x-1.png'))).toBe(true);
    expect(readFileSync(o, 'utf8')).toBe('old');
    expect(r.stderr).toMatch(new RegExp(`wrote ${join(dir, 'x-0.png')}, ${join(dir, 'x-1.png')} \\(64x64\\)`));
    expect(r.stderr).not.toMatch(new RegExp(`wrote ${o} `));
  }, 300_000);

  test('PNG metadata: UTF-8 prompt, guidance as given, inputs, dtype, size, adapter, version; A1111 parameters text', async () => {
    const o = join(dir, 'meta.png');
    const r = await tether('inpaint', '-i', img64, '--mask', mask64, '--steps', '2', '--K', '1', '--seed', '7', '-p', 'für Straße', '-n', 'grau',
      '--guidance', '3', '--cfg-form', 'newton', '--model', GOLDEN_DIR, '-o', o, '-q');
    expect(r.code, r.message).toBe(0);
    const text = readPngText(readFileSync(o));
    const run = JSON.parse(text.tether!);
    expect(run).toMatchObject({
      task: 'inpaint', prompt: 'für Straße', negative_prompt: 'grau', seed: 7, steps: 2, K: 1, guidance: 3, cfg_form: 'newton',
      width: 64, height: 64, weight_dtype: 'f32', inputs: { image: img64, mask: mask64 }, version,
    });
    expect(run.adapter).toMatch(/\S/);
    expect(text.parameters).toMatch(/^für Straße\nNegative prompt: grau\nSteps: 2, Sampler: DDIM, CFG scale: 3, Seed: 7, Size: 64x64, Model: golden, /);
    expect(text.parameters).toMatch(/Input image: img64\.png, Input mask: mask64\.png/);
    expect(text.Software).toBe(`tether-sd ${version}`);
  }, 300_000);
});

describe('--help tells the truth', () => {
  const help = async (...a: string[]) => (await tether(...a, '--help')).stdout.replace(/\s+/g, ' ');
  test('generate does not promise the Newton sampler', async () => {
    const h = await help('generate');
    expect(h).not.toMatch(/--method newton with/);
    expect(h).toMatch(/only none \(plain DDIM\) here/);
  });
  test('superres --scale says 2..16', async () => expect(await help('superres')).toMatch(/an integer 2\.\.16, default 4/));
  test('--steps must divide 1000 for the constrained tasks', async () => expect(await help('inpaint')).toMatch(/--steps <n> .*must divide 1000/));
  test('-o documents the batch naming', async () => expect(await help('deblur')).toMatch(/NAME-0\.png \.\. NAME-<N-1>\.png/));
  test('--version is the package version', async () => {
    const r = await tether('--version');
    expect(r.stdout.trim()).toBe(version);
  });
});
