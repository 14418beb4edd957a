// A checkpoint with NaN/Inf in a weight is refused at load, naming the file and the tensor, for the
// diffusers folder and the single-file layout, with f32 and f16 tensors in the file (and f16 GPU
// storage where the adapter has it); `tether generate` on such a model exits non-zero with that
// message instead of writing a black PNG. Copies of the golden weights are edited in temp folders.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect } from 'vitest';
import type { GpuContext } from '../../src/gpu/context.js';
import { setAutoTune } from '../../src/kernels/select_variant.js';
import { loadPipelineFromPath } from '../../src/pipeline/load_pipeline_node.js';
import { fileByteSource } from '../../src/weights/byte_source_node.js';
import { f32ArrayToF16 } from '../../src/weights/dtype.js';
import { openSafetensors } from '../../src/weights/safetensors.js';
import { encodeSafetensors, type TensorToWrite } from '../../src/weights/safetensors_write.js';
import { tether } from '../cli/cli_harness.js';
import { GOLDEN_DIR } from '../helpers/golden.js';
import { gpuTest } from '../helpers/gpu.js';

beforeAll(() => setAutoTune(false));

type Dt = 'F32' | 'F16';

/** Every tensor of a golden safetensors file as `dtype`, with 3 non-finite values put into `damaged`. */
async function damagedTensors(rel: string, damaged: string, dtype: Dt): Promise<Record<string, TensorToWrite>> {
  const f = await openSafetensors(await fileByteSource(join(GOLDEN_DIR, rel)));
  const out: Record<string, TensorToWrite> = {};
  for (const [k, info] of f.tensors) {
    const v = await f.readF32(k);
    if (k === damaged) { v[0] = NaN; v[5] = Infinity; v[v.length - 1] = -Infinity; }
    out[k] = dtype === 'F32' ? { dtype, shape: [...info.shape], data: v } : { dtype, shape: [...info.shape], data: f32ArrayToF16(v) };
  }
  await f.source.close?.();
  return out;
}

/** A diffusers folder whose unet/ has NaN/Inf in conv_in.weight (vae and text encoder copied when `full`). */
async function damagedFolder(dtype: Dt, full = false): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'tether-nan-'));
  const parts = full ? ['unet', 'vae', 'text_encoder', 'tokenizer', 'scheduler'] : ['unet'];
  for (const p of parts) mkdirSync(join(dir, p));
  const copy = (rel: string) => { if (existsSync(join(GOLDEN_DIR, rel))) copyFileSync(join(GOLDEN_DIR, rel), join(dir, rel)); };
  copy('unet/config.json');
  if (full) {
    for (const rel of ['vae/config.json', 'vae/diffusion_pytorch_model.safetensors', 'text_encoder/config.json', 'text_encoder/model.safetensors',
      'tokenizer/vocab.json', 'tokenizer/merges.txt', 'tokenizer/tokenizer_config.json', 'tokenizer/special_tokens_map.json',
      'scheduler/scheduler_config.json', 'model_index.json']) copy(rel);
  }
  const t = await damagedTensors('unet/diffusion_pytorch_model.safetensors', 'conv_in.weight', dtype);
  writeFileSync(join(dir, 'unet/diffusion_pytorch_model.safetensors'), encodeSafetensors(t));
  return dir;
}

async function damagedSingleFile(dtype: Dt): Promise<string> {
  const t = await damagedTensors('single_file/tiny-sd14-public.safetensors', 'model.diffusion_model.input_blocks.0.0.weight', dtype);
  const path = join(mkdtempSync(join(tmpdir(), 'tether-nan-sf-')), 'damaged.safetensors');
  writeFileSync(path, encodeSafetensors(t));
  return path;
}

async function loadError(ctx: GpuContext, path: string, weightDtype: 'f32' | 'f16'): Promise<string> {
  const before = ctx.residentBytes;
  const m = await loadPipelineFromPath(ctx, path, { components: ['unet'], weightDtype }).catch((e: Error) => e);
  if (!(m instanceof Error)) { m.destroy(ctx); throw new Error(`loading ${path} unexpectedly succeeded`); }
  expect(ctx.residentBytes, 'a failed load frees what it uploaded').toBe(before);
  return m.message;
}

describe('non-finite weights are refused at load', () => {
  for (const dtype of ['F32', 'F16'] as const) {
    gpuTest(`diffusers folder, ${dtype} file: names the file and the tensor`, async (ctx) => {
      const dir = await damagedFolder(dtype);
      for (const wd of ctx.hasF16 ? (['f32', 'f16'] as const) : (['f32'] as const)) {
        expect(await loadError(ctx, dir, wd)).toMatch(
          /unet\/diffusion_pytorch_model\.safetensors: tensor conv_in\.weight has 3 non-finite values \(NaN\/Inf\); the checkpoint is damaged/);
      }
    }, 300_000);

    gpuTest(`single file, ${dtype} file: names the tensor as in the file and as in the model`, async (ctx) => {
      const path = await damagedSingleFile(dtype);
      for (const wd of ctx.hasF16 ? (['f32', 'f16'] as const) : (['f32'] as const)) {
        expect(await loadError(ctx, path, wd)).toMatch(
          /damaged\.safetensors: tensor model\.diffusion_model\.input_blocks\.0\.0\.weight \(the model's conv_in\.weight\) has 3 non-finite values \(NaN\/Inf\); the checkpoint is damaged/);
      }
    }, 300_000);
  }

  gpuTest('tether generate on a damaged model: exit code != 0, the message, no PNG', async () => {
    const dir = await damagedFolder('F32', true);
    const out = join(dir, 'out.png');
    const r = await tether('generate', '--model', dir, '-p', 'a dress', '--steps', '2', '--width', '64', '--height', '64', '-o', out, '-q');
    expect(r.code).not.toBe(0);
    expect(r.message).toMatch(/tensor conv_in\.weight has 3 non-finite values \(NaN\/Inf\); the checkpoint is damaged/);
    expect(r.message.split('\n').filter(Boolean).length, r.message).toBe(1);
    expect(existsSync(out)).toBe(false);
  }, 300_000);
});
