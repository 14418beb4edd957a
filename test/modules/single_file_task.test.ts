// A single-file checkpoint of non-SD-1.4 sizes runs a task with no --config at all: configs from
// its tensor shapes, the CLIP tokenizer shipped with the package. Same pixels as the diffusers
// folder it was converted from (the public golden model), at the same seed and size.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { expect, test } from 'vitest';
import { GOLDEN_DIR } from '../helpers/golden.js';
import { tether } from '../cli/cli_harness.js';

const dir = mkdtempSync(join(tmpdir(), 'tether-single-'));
const SINGLE = join(GOLDEN_DIR, 'single_file', 'tiny-sd14-public.safetensors');

test('tether generate on the golden single file without --config equals the golden folder', async () => {
  const args = ['-p', 'a red cube', '--seed', '5', '--steps', '3', '--width', '64', '--height', '64', '--guidance', '3', '-q'];
  const a = await tether('generate', '--model', SINGLE, ...args, '-o', join(dir, 'single.png'));
  expect(a.code, a.message).toBe(0);
  const b = await tether('generate', '--model', GOLDEN_DIR, ...args, '-o', join(dir, 'folder.png'));
  expect(b.code, b.message).toBe(0);
  const px = (f: string) => PNG.sync.read(readFileSync(join(dir, f))).data;
  expect(px('single.png').equals(px('folder.png'))).toBe(true);
}, 300_000);
