// Issue 11 §2: a run fails before the work, not after. Each bad request is refused with the
// file / tensor / flag named, and before the model's weights load: the runs below point --model
// at a path with no weights at all (a missing folder, or ../shared/golden/sd14_configs, which
// holds only SD 1.4's config files), so any message but the expected one means the check came
// too late. No output file and no temp or probe file may be left behind.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { TASKS } from '../../src/pipeline/task_registry.js';
import { encodeSafetensors } from '../../src/weights/safetensors_write.js';
import { GOLDEN_DIR } from '../helpers/golden.js';
import { expectFailure as expectFailureIn, png, tether, type Outcome } from './cli_harness.js';

const dir = mkdtempSync(join(tmpdir(), 'tether-preflight-'));
const out = join(dir, 'out.png');
const noModel = ['--model', join(dir, 'no-model'), '-q'];
const sd14NoWeights = ['--model', join(GOLDEN_DIR, 'sd14_configs'), '-q'];

const img64 = png(join(dir, 'img64.png'), 64, 64, (x, y) => [x * 4, y * 4, 128]);
const mask64 = png(join(dir, 'mask64.png'), 64, 64, (x) => (x < 32 ? [0, 0, 0] : [255, 255, 255]));
const tensors = (name: string, t: Parameters<typeof encodeSafetensors>[0]) => { const p = join(dir, name); writeFileSync(p, encodeSafetensors(t)); return p; };

function expectFailure(r: Outcome, pattern: RegExp, outputs: string[] = [out]): void {
  expectFailureIn(r, pattern, dir, outputs);
}

describe('output paths are checked before the model loads', () => {
  test('-o into a missing folder', async () => {
    const o = join(dir, 'missing', 'x.png');
    expectFailure(await tether('inpaint', '-i', img64, '--mask', mask64, ...noModel, '-o', o), /-o\/--output .*missing\/x\.png: cannot write there \(the folder does not exist/, [o]);
  });
  // tests run as root, for whom a chmod-ed read-only folder is still writable: /proc and a path
  // under a regular file are refused to every user
  test('-o into /proc', async () => {
    expectFailure(await tether('inpaint', '-i', img64, '--mask', mask64, ...noModel, '-o', '/proc/tether-out.png'), /-o\/--output \/proc\/tether-out\.png: cannot write there \(this folder does not accept new files/, ['/proc/tether-out.png']);
  });
  test('-o under a regular file', async () => {
    const o = join(img64, 'x.png');
    expectFailure(await tether('superres', '-i', img64, ...noModel, '-o', o), /img64\.png\/x\.png: cannot write there \(a part of the path is not a folder/, [o]);
  });
  test('--trace into a missing folder (was a raw ENOENT on a temp file after the run)', async () => {
    const t = join(dir, 'missing', 'trace.safetensors');
    expectFailure(await tether('inpaint', '-i', img64, '--mask', mask64, ...noModel, '-o', out, '--trace', t), /--trace .*missing\/trace\.safetensors: cannot write there \(the folder does not exist/, [out, t]);
  });
  test('demo -o into a missing folder', async () => {
    const o = join(dir, 'missing', 'demo.png');
    expectFailure(await tether('demo', '--model', join(dir, 'no-model'), '-o', o), /tether demo: -o\/--output .*: cannot write there \(the folder does not exist/, [o]);
  });
});

describe('demo validates its options as the task commands do', () => {
  const demo = (...a: string[]) => tether('demo', '--model', join(dir, 'no-model'), '-o', out, ...a);
  test('--schedule bogus', async () => expectFailure(await demo('--schedule', 'bogus'), /option '--schedule <s>' argument 'bogus' is invalid. Allowed choices are exact, fused/));
  test('--steps that do not divide 1000', async () => expectFailure(await demo('--steps', '7'), /--steps must divide 1000/));
  test('--seed that is not an integer', async () => expectFailure(await demo('--seed', '1.5'), /--seed must be an integer/));
});

describe('inputs the device cannot hold are refused before the weights load', () => {
  test('generate --width 8000 (SD 1.4 configs, 128 MiB bindings on lavapipe)', async () => {
    const r = await tether('generate', '--width', '8000', '--height', '512', ...sd14NoWeights, '-o', out);
    expectFailure(r, /--width 8000 x --height 512 needs a [\d.]+ MB buffer \(UNet skip concatenation \[2, 960, 64, 1000\]\); this device allows [\d.]+ MB per buffer: at most ~\d+x\d+ for this model/);
  });
  test('superres of a 1000x1000 input x4', async () => {
    const big = png(join(dir, 'big.png'), 1000, 1000, () => [90, 90, 90]);
    expectFailure(await tether('superres', '-i', big, ...sd14NoWeights, '-o', out), /-i\/--image 1000x1000 x --scale 4 \(a 4000x4000 output\) needs a [\d.]+ [MG]B buffer .*this device allows [\d.]+ MB per buffer: at most ~\d+x\d+/);
  });
});

describe('bad inputs are named in user terms', () => {
  const run = (...a: string[]) => tether('inpaint', ...a, ...noModel, '-o', out);
  const steps = TASKS.inpaint.defaults.steps;                          // z_list matches the default --steps: only x_init is wrong
  test('non-finite --noise tensor', async () => {
    const n = tensors('nan-noise.safetensors', {
      x_init: { dtype: 'F32', shape: [1, 4, 8, 8], data: new Float32Array(256).fill(NaN) },
      z_list: { dtype: 'F32', shape: [steps, 1, 4, 8, 8], data: new Float32Array(steps * 256) },
    });
    expectFailure(await run('-i', img64, '--mask', mask64, '--noise', n), /nan-noise\.safetensors: tensor 'x_init' holds a non-finite value \(NaN\) at index 0/);
  });
  test('I32 --noise tensor', async () => {
    const n = tensors('int-noise.safetensors', {
      x_init: { dtype: 'I32', shape: [1, 4, 8, 8], data: new Int32Array(256) },
      z_list: { dtype: 'F32', shape: [steps, 1, 4, 8, 8], data: new Float32Array(steps * 256) },
    });
    expectFailure(await run('-i', img64, '--mask', mask64, '--noise', n), /int-noise\.safetensors: tensor 'x_init' is I32; expected float values \(F32, F16 or BF16\) \(noise files hold x_init/);
  });
  test('4-channel image tensor', async () => {
    const f = tensors('rgba.safetensors', { image: { dtype: 'F32', shape: [1, 4, 64, 64], data: new Float32Array(4 * 4096) } });
    expectFailure(await run('-i', f, '--mask', mask64), /rgba\.safetensors: tensor 'image' has shape \[1, 4, 64, 64\] with 4 channels; expected \[N, 3, H, W\] \(RGB\)/);
  });
  test('batch mismatch between image and mask', async () => {
    const f = tensors('two.safetensors', { image: { dtype: 'F32', shape: [2, 3, 64, 64], data: new Float32Array(2 * 3 * 4096) } });
    expectFailure(await run('-i', f, '--mask', mask64), /mask .*mask64\.png holds 1 mask but image .*two\.safetensors holds 2 images: give one mask per image/);
  });
  test('empty PNG', async () => {
    const f = join(dir, 'empty.png');
    writeFileSync(f, '');
    expectFailure(await run('-i', f, '--mask', mask64), /empty\.png is empty \(0 bytes\); expected a PNG image/);
  });
  test('truncated PNG', async () => {
    const f = join(dir, 'cut.png');
    const { readFileSync } = await import('node:fs');
    writeFileSync(f, readFileSync(img64).subarray(0, 60));
    expectFailure(await run('-i', f, '--mask', mask64), /cut\.png is truncated: the PNG data ends before the image is complete \(60 bytes\)/);
  });
  test('generate --method newton (no constraint to satisfy)', async () => {
    expectFailure(await tether('generate', '--method', 'newton', ...noModel, '-o', out), /generate samples with plain DDIM \(--method none\); --method newton needs a constraint/);
  });
});

test('the probe leaves a writable folder as it was', async () => {
  const sub = join(dir, 'ok');
  mkdirSync(sub);
  const { checkWritable } = await import('../../src/cli/output_paths_node.js');
  checkWritable(join(sub, 'x.png'), '-o');
  const { readdirSync } = await import('node:fs');
  expect(readdirSync(sub)).toEqual([]);
});
