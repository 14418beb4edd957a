// `tether style-loss` in process on the public style goldens (tiny CLIP as a folder and as a lone
// file with its config beside it), and its error paths: one clear line, exit code 1, no output left.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommanderError } from 'commander';
import { beforeAll, describe, expect } from 'vitest';
import { styleLossCommand } from '../../src/cli/style_loss.js';
import type { GpuContext } from '../../src/gpu/context.js';
import { fileByteSource } from '../../src/weights/byte_source_node.js';
import { openSafetensors } from '../../src/weights/safetensors.js';
import { encodeSafetensors } from '../../src/weights/safetensors_write.js';
import { goldenPath } from '../helpers/golden.js';
import { gpuTest } from '../helpers/gpu.js';
import { relMax, styleGolden } from './golden_helpers.js';
import { setAutoTune } from '../../src/kernels/select_variant.js';

// correctness only: no background matmul variant measurements competing for the adapter
beforeAll(() => setAutoTune(false));

async function cli(ctx: GpuContext, args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const cmd = styleLossCommand({ ctx }).exitOverride().configureOutput({ writeOut: (s) => { out += s; }, writeErr: (s) => { err += s; } });
  try {
    await cmd.parseAsync(args, { from: 'user' });
    return { code: 0, out, err };
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    return { code: e.exitCode, out, err };
  }
}

const tmp = () => mkdtempSync(join(tmpdir(), 'tether-style-'));
const CLIP_DIR = goldenPath('goldens_style/clip_vision');
const INPUT = goldenPath('goldens_style/style_inputs.safetensors');

describe('tether style-loss', () => {
  for (const clip of [CLIP_DIR, join(CLIP_DIR, 'model.safetensors')]) {
    gpuTest(`golden inputs, --clip ${clip.endsWith('.safetensors') ? 'file' : 'folder'}`, async (ctx) => {
      const out = join(tmp(), 'out.safetensors');
      const r = await cli(ctx, ['--clip', clip, '--input', INPUT, '--output', out]);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^wrote .*out\.safetensors: L = 2060\.3\d+/);
      const got = await openSafetensors(await fileByteSource(out));
      const want = await styleGolden('style_output'), f64 = await styleGolden('style_f64');
      expect([...got.tensors.keys()].sort()).toEqual([...want.file.tensors.keys()].sort());
      for (const name of want.file.tensors.keys()) {
        expect([...got.tensors.get(name)!.shape], name).toEqual(want.shape(name));
        const tol = name === 'L' ? 1e-5 : 1e-4;
        expect(relMax(await got.readF32(name), await f64.f64(name)), name).toBeLessThan(tol);
      }
      expect(JSON.parse(got.metadata.key_order)).toContain('grad');
      await got.source.close?.();
    });
  }

  gpuTest('errors: one line, exit code 1, no output file', async (ctx) => {
    const dir = tmp();
    const bad = join(dir, 'bad.safetensors');
    writeFileSync(bad, encodeSafetensors({ img: { dtype: 'F32', shape: [1, 3, 8, 8], data: new Float32Array(192) } }));
    const wrong = join(dir, 'wrong.safetensors');
    writeFileSync(wrong, encodeSafetensors({
      img: { dtype: 'F32', shape: [1, 1, 8, 8], data: new Float32Array(64) },
      img_ref: { dtype: 'F32', shape: [1, 3, 8, 8], data: new Float32Array(192) },
    }));
    const cases: [string[], RegExp][] = [
      [['--clip', CLIP_DIR, '--input', bad], /missing tensor "img_ref"/],
      [['--clip', CLIP_DIR, '--input', wrong], /"img" is F32 \[1, 1, 8, 8\]; expected \[N, 3, H, W\]/],
      [['--clip', join(dir, 'nope'), '--input', INPUT], /--clip .*nope: no such file or directory/],
      [['--clip', INPUT, '--input', INPUT], /no vision_model\.\* tensors/],
      [['--clip', CLIP_DIR, '--input', join(dir, 'none.safetensors')], /input .*none\.safetensors: no such file/],
    ];
    for (const [args, msg] of cases) {
      const out = join(dir, 'out.safetensors');
      const r = await cli(ctx, [...args, '--output', out]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(msg);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(existsSync(out)).toBe(false);
    }
  });
});
