// `tether forward` end to end, in process: every component on the golden inputs (diffusers folder
// and single file), outputs compared with the goldens, and the error paths (one clear line,
// non-zero exit, no output file left behind).
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommanderError } from 'commander';
import { beforeAll, describe, expect } from 'vitest';
import { forwardCommand } from '../../src/cli/forward.js';
import type { GpuContext } from '../../src/gpu/context.js';
import { fileByteSource } from '../../src/weights/byte_source_node.js';
import { openSafetensors, type SafetensorsFile } from '../../src/weights/safetensors.js';
import { encodeSafetensors, type TensorToWrite } from '../../src/weights/safetensors_write.js';
import { setAutoTune } from '../../src/kernels/select_variant.js';
import { GOLDEN_DIR, goldenPath, openGolden } from '../helpers/golden.js';
import { gpuTest } from '../helpers/gpu.js';
import { compare, expectClose, type Tolerance } from '../helpers/numeric.js';

// Correctness only: kernel variants stay provisional (no background timing runs on a busy CPU adapter).
beforeAll(() => setAutoTune(false));

const F32: Tolerance = { atol: 1e-4, rtol: 1e-4 };
const F16_WEIGHTS: Tolerance = { atol: 5e-3, rtol: 0 };
const SINGLE_FILE = join(GOLDEN_DIR, 'single_file/tiny-sd14-public.safetensors');

interface CliResult { code: number; out: string; err: string }

async function cli(ctx: GpuContext, args: string[]): Promise<CliResult> {
  let out = '', err = '';
  const cmd = forwardCommand({ ctx }).exitOverride().configureOutput({ writeOut: (s) => { out += s; }, writeErr: (s) => { err += s; } });
  try {
    await cmd.parseAsync(args, { from: 'user' });
    return { code: 0, out, err };
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    return { code: e.exitCode, out, err };
  }
}

const tmp = () => mkdtempSync(join(tmpdir(), 'tether-forward-'));

async function openOutput(path: string): Promise<SafetensorsFile> {
  return openSafetensors(await fileByteSource(path));
}

const CASES = [
  { component: 'unet', input: 'unet_inputs', golden: 'unet_output', outputs: ['noise_pred'] },
  { component: 'vae-encode', input: 'vae_encode_inputs', golden: 'vae_encode_output', outputs: ['mean', 'logvar'] },
  { component: 'vae-decode', input: 'vae_decode_inputs', golden: 'vae_decode_output', outputs: ['image'] },
  { component: 'text-encoder', input: 'clip_inputs', golden: 'clip_output', outputs: ['last_hidden_state', 'pooler_output'] },
] as const;

describe('tether forward against the goldens', () => {
  for (const c of CASES) {
    for (const source of ['folder', 'single_file'] as const) {
      gpuTest(`${c.component} (${source}, f32)`, async (ctx) => {
        const out = join(tmp(), 'out.safetensors');
        const model = source === 'folder' ? ['--model', GOLDEN_DIR] : ['--model', SINGLE_FILE, '--config', GOLDEN_DIR];
        const r = await cli(ctx, [...model, '--component', c.component, '--input', goldenPath(`goldens/${c.input}.safetensors`), '--output', out]);
        expect(r.err).toBe('');
        expect(r.code).toBe(0);
        expect(r.out).toMatch(new RegExp(`^wrote .*out\\.safetensors: ${c.outputs[0]} \\[`));
        const got = await openOutput(out), want = await openGolden(`goldens/${c.golden}.safetensors`);
        expect([...got.tensors.keys()].sort()).toEqual([...c.outputs].sort());
        expect(got.metadata['component']).toBe(c.component);
        for (const name of c.outputs) {
          expect(got.tensors.get(name)!.dtype).toBe('F32');
          expect([...got.tensors.get(name)!.shape]).toEqual(want.shape(name));
          const g = await got.readF32(name), w = await want.f32(name);
          console.log(`forward ${c.component} ${name} (${source}): ${compare(g, w, F32).report}`);
          expectClose(g, w, F32, `${c.component} ${name}`);
        }
        await got.source.close?.();
      }, 300_000);
    }
  }

  gpuTest('--dtype f16 (vae-decode)', async (ctx) => {
    if (!ctx.hasF16) { console.log('skipped: no shader-f16'); return; }
    const out = join(tmp(), 'out.safetensors');
    const r = await cli(ctx, ['--model', GOLDEN_DIR, '--component', 'vae-decode', '--dtype', 'f16',
      '--input', goldenPath('goldens/vae_decode_inputs.safetensors'), '--output', out]);
    expect(r.code).toBe(0);
    const got = await openOutput(out), want = await openGolden('goldens/vae_decode_output.safetensors');
    expect(got.metadata['weight_dtype']).toBe('f16');
    expectClose(await got.readF32('image'), await want.f32('image'), F16_WEIGHTS, 'vae-decode f16 weights');
    await got.source.close?.();
  });
});

function inputFile(tensors: Record<string, TensorToWrite>): string {
  const p = join(tmp(), 'in.safetensors');
  writeFileSync(p, encodeSafetensors(tensors));
  return p;
}

describe('tether forward errors: non-zero exit, one line naming the tensor or argument', () => {
  async function expectError(ctx: GpuContext, args: string[], re: RegExp): Promise<void> {
    const dir = tmp();
    const out = join(dir, 'out.safetensors');
    const r = await cli(ctx, [...args, '--output', out]);
    expect(r.code).not.toBe(0);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(re);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir)).toEqual([]); // no temp file left behind
  }
  const z = (shape: number[]): TensorToWrite => ({ dtype: 'F32', shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });

  gpuTest('missing input tensor', async (ctx) => {
    await expectError(ctx, ['--model', GOLDEN_DIR, '--component', 'vae-decode', '--input', inputFile({ latents: z([1, 4, 8, 8]) })],
      /missing tensor "latent".*it has: latents/);
  });

  gpuTest('wrong shape', async (ctx) => {
    await expectError(ctx, ['--model', GOLDEN_DIR, '--component', 'vae-decode', '--input', inputFile({ latent: z([1, 3, 8, 8]) })],
      /input tensor "latent" has shape \[1, 3, 8, 8\]; expected \[B, 4, h, w\] F32/);
    await expectError(ctx, ['--model', GOLDEN_DIR, '--component', 'vae-encode', '--input', inputFile({ image: z([1, 3, 60, 64]) })],
      /input tensor "image" has shape \[1, 3, 60, 64\]; expected .*multiples of 8/);
    await expectError(ctx, ['--model', GOLDEN_DIR, '--component', 'unet', '--input', inputFile({
      sample: z([2, 4, 16, 16]), timesteps: { dtype: 'I64', shape: [3], data: new BigInt64Array(3) }, encoder_hidden_states: z([2, 77, 32]),
    })], /input tensor "timesteps" has shape \[3\]; expected \[2\]/);
    await expectError(ctx, ['--model', GOLDEN_DIR, '--component', 'text-encoder', '--input', inputFile({
      input_ids: { dtype: 'I64', shape: [1, 78], data: new BigInt64Array(78) },
    })], /input tensor "input_ids" has shape \[1, 78\]; expected \[B, T <= 77\]/);
  });

  gpuTest('wrong dtype and bad token ids', async (ctx) => {
    await expectError(ctx, ['--model', GOLDEN_DIR, '--component', 'vae-decode', '--input', inputFile({
      latent: { dtype: 'F64', shape: [1, 4, 8, 8], data: new Float64Array(256) },
    })], /input tensor "latent" has dtype F64; expected F32/);
    await expectError(ctx, ['--model', GOLDEN_DIR, '--component', 'text-encoder', '--input', inputFile({ input_ids: z([1, 77]) })],
      /input tensor "input_ids" has dtype F32; expected I64 or I32/);
    await expectError(ctx, ['--model', GOLDEN_DIR, '--component', 'text-encoder', '--input', inputFile({
      input_ids: { dtype: 'I64', shape: [1, 3], data: BigInt64Array.from([49406n, 50000n, 49407n]) },
    })], /input tensor "input_ids": input_ids\[0\]\[1\] = 50000 is not a token id/);
  });

  gpuTest('unknown component, missing option, bad dtype, missing files', async (ctx) => {
    const input = goldenPath('goldens/vae_decode_inputs.safetensors');
    await expectError(ctx, ['--model', GOLDEN_DIR, '--component', 'vae', '--input', input], /--component.*'vae' is invalid.*unet, vae-encode, vae-decode, text-encoder/);
    await expectError(ctx, ['--component', 'vae-decode', '--input', input], /required option '--model <path>' not specified/);
    await expectError(ctx, ['--model', GOLDEN_DIR, '--component', 'vae-decode', '--dtype', 'bf16', '--input', input], /--dtype.*'bf16' is invalid/);
    await expectError(ctx, ['--model', join(GOLDEN_DIR, 'nope'), '--component', 'vae-decode', '--input', input], /model .*nope: no such file or directory/);
    await expectError(ctx, ['--model', GOLDEN_DIR, '--component', 'vae-decode', '--input', join(GOLDEN_DIR, 'nope.safetensors')], /input .*nope\.safetensors: no such file/);
    await expectError(ctx, ['--model', GOLDEN_DIR, '--component', 'vae-decode', '--input', join(GOLDEN_DIR, 'vae/config.json')],
      /looks like a JSON file, not a safetensors file/);
  });

  gpuTest('output folder missing', async (ctx) => {
    const r = await cli(ctx, ['--model', GOLDEN_DIR, '--component', 'vae-decode', '--input', goldenPath('goldens/vae_decode_inputs.safetensors'),
      '--output', join(tmp(), 'no', 'such', 'out.safetensors')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^tether forward: output .*out\.safetensors: its folder does not exist\n$/);
  });
});
