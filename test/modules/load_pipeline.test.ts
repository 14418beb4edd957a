// loadPipeline: the whole tiny SD model from the diffusers folder and the single file against the
// pipeline golden (tokenizer + text encoder -> prompt embeds; UNet on the CFG batch; VAE decode of
// the final latents), and the loader's error paths at the model level: wrong file, missing key,
// wrong shape, wrong dtype, truncated data, pickle checkpoints.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import type { GpuContext } from '../../src/gpu/context.js';
import { loadPipeline, resolveWeightDtype } from '../../src/pipeline/load_pipeline.js';
import { loadPipelineFromPath } from '../../src/pipeline/load_pipeline_node.js';
import { parseSchedulerConfig } from '../../src/pipeline/scheduler_config.js';
import { parseClipTextConfig } from '../../src/text/clip_text_config.js';
import { parseVaeConfig } from '../../src/vae/config.js';
import { fileByteSource } from '../../src/weights/byte_source_node.js';
import { openSafetensors } from '../../src/weights/safetensors.js';
import { encodeSafetensors, type TensorToWrite } from '../../src/weights/safetensors_write.js';
import { setAutoTune } from '../../src/kernels/select_variant.js';
import { GOLDEN_DIR, openGolden } from '../helpers/golden.js';
import { gpuTest } from '../helpers/gpu.js';
import { compare, expectClose, type Tolerance } from '../helpers/numeric.js';

// Correctness only: kernel variants stay provisional (no background timing runs on a busy CPU adapter).
beforeAll(() => setAutoTune(false));

const F32: Tolerance = { atol: 1e-4, rtol: 1e-4 };
const SINGLE_FILE = join(GOLDEN_DIR, 'single_file/tiny-sd14-public.safetensors');

function report(what: string, got: Float32Array, want: Float32Array, tol: Tolerance): void {
  console.log(`${what}: ${compare(got, want, tol).report}`);
  expectClose(got, want, tol, what);
}

describe('loadPipeline against the pipeline golden', () => {
  for (const source of ['folder', 'single_file'] as const) {
    gpuTest(`prompt embeds, CFG UNet step, decoded image (${source}, f32)`, async (ctx) => {
      const m = source === 'folder'
        ? await loadPipelineFromPath(ctx, GOLDEN_DIR, { weightDtype: 'f32' })
        : await loadPipelineFromPath(ctx, SINGLE_FILE, { weightDtype: 'f32', config: GOLDEN_DIR });
      expect(m.kind).toBe(source === 'folder' ? 'diffusers' : 'single-file');
      expect(m.weightDtype).toBe('f32');
      expect(m.scheduler.betaSchedule).toBe('scaled_linear');
      const g = await openGolden('goldens/pipeline.safetensors');
      const prompt = 'a photograph of an astronaut riding a horse';
      const ids = m.tokenizer!.encode(prompt).inputIds, neg = m.tokenizer!.encode('').inputIds;
      expect(ids).toEqual(await g.i64('input_ids'));
      expect(neg).toEqual(await g.i64('negative_input_ids'));

      const te = m.text_encoder!.forward(ctx, [neg, ids]);
      const embeds = await ctx.read(te.last_hidden_state);
      const n = 77 * 32;
      report(`negative_prompt_embeds (${source})`, embeds.subarray(0, n), await g.f32('negative_prompt_embeds'), F32);
      report(`prompt_embeds (${source})`, embeds.subarray(n), await g.f32('prompt_embeds'), F32);

      // UNet on the CFG batch cat([uncond, cond]) at the first timestep, from the golden embeds
      const init = await g.f32('init_latents');
      const batch = new Float32Array(2 * init.length);
      batch.set(init); batch.set(init, init.length);
      const sample = ctx.upload(batch, [2, 4, 16, 16]);
      const t0 = (await g.i64('timesteps'))[0]!;
      const eps = m.unet!.forward(ctx, sample, [t0, t0], te.last_hidden_state);
      report(`unet_out_step0 (${source})`, await ctx.read(eps), await g.f32('unet_out_step0'), F32);
      ctx.release(sample, eps, te.last_hidden_state, te.pooler_output);

      // decoded_image = vae.decode(latents / scaling_factor)
      const lat = (await g.f32('latents_after_step3')).map((v) => v / m.configs.vae.scalingFactor);
      const z = ctx.upload(lat, [1, 4, 16, 16]);
      const img = m.vae!.decode(ctx, z);
      expect([...img.shape]).toEqual([1, 3, 128, 128]);
      report(`decoded_image (${source})`, await ctx.read(img), await g.f32('decoded_image'), F32);
      ctx.release(z, img);
      m.destroy(ctx);
    }, 300_000);
  }
});

// ---------------------------------------------------------------------------------- error paths

interface Tensors { [key: string]: TensorToWrite }

async function goldenVaeTensors(): Promise<Tensors> {
  const f = await openSafetensors(await fileByteSource(join(GOLDEN_DIR, 'vae/diffusion_pytorch_model.safetensors')));
  const out: Tensors = {};
  for (const [k, info] of f.tensors) out[k] = { dtype: 'F32', shape: [...info.shape], data: await f.readF32(k) };
  await f.source.close?.();
  return out;
}

/** A diffusers folder holding only vae/ (config copied, weights mutated). */
function vaeFolder(tensors: Tensors, raw?: (bytes: Uint8Array) => Uint8Array): string {
  const dir = mkdtempSync(join(tmpdir(), 'tether-vae-'));
  mkdirSync(join(dir, 'vae'));
  copyFileSync(join(GOLDEN_DIR, 'vae/config.json'), join(dir, 'vae/config.json'));
  const bytes = encodeSafetensors(tensors);
  writeFileSync(join(dir, 'vae/diffusion_pytorch_model.safetensors'), raw ? raw(bytes) : bytes);
  return dir;
}

async function loadError(ctx: GpuContext, path: string, opts: Parameters<typeof loadPipelineFromPath>[2] = {}): Promise<string> {
  const before = ctx.residentBytes;
  try {
    const m = await loadPipelineFromPath(ctx, path, opts);
    m.destroy(ctx);
  } catch (e) {
    expect(ctx.residentBytes, 'a failed load frees what it uploaded').toBe(before);
    return (e as Error).message;
  }
  throw new Error(`loading ${path} unexpectedly succeeded`);
}

describe('loadPipeline error paths', () => {
  const vae = { components: ['vae'] as const, weightDtype: 'f32' as const };

  gpuTest('missing key: names the key and the expected shape', async (ctx) => {
    const t = await goldenVaeTensors();
    delete t['decoder.conv_in.weight'];
    const msg = await loadError(ctx, vaeFolder(t), vae);
    expect(msg).toMatch(/missing weight "decoder\.conv_in\.weight" \(expected shape \[64, 4, 3, 3\]\)/);
  });

  gpuTest('unused key: listed by name', async (ctx) => {
    const t = await goldenVaeTensors();
    t['decoder.extra.weight'] = { dtype: 'F32', shape: [2], data: new Float32Array(2) };
    expect(await loadError(ctx, vaeFolder(t), vae)).toMatch(/1 unused:\n\s+decoder\.extra\.weight \[2\]/);
  });

  gpuTest('wrong shape: names the key, its shape and the expected one', async (ctx) => {
    const t = await goldenVaeTensors();
    t['encoder.conv_out.weight'] = { dtype: 'F32', shape: [8, 64, 1, 1], data: new Float32Array(8 * 64) };
    expect(await loadError(ctx, vaeFolder(t), vae))
      .toMatch(/weight "encoder\.conv_out\.weight" has shape \[8, 64, 1, 1\] but the model expects \[8, 64, 3, 3\]/);
  });

  gpuTest('wrong dtype: an integer tensor where a float weight belongs', async (ctx) => {
    const t = await goldenVaeTensors();
    t['quant_conv.bias'] = { dtype: 'I64', shape: [8], data: new BigInt64Array(8) };
    expect(await loadError(ctx, vaeFolder(t), vae)).toMatch(/tensor "quant_conv\.bias" has dtype I64, which cannot be read as float32/);
  });

  gpuTest('truncated data', async (ctx) => {
    const msg = await loadError(ctx, vaeFolder(await goldenVaeTensors(), (b) => b.subarray(0, b.length - 1000)), vae);
    expect(msg).toMatch(/truncated file\?/);
  });

  gpuTest('wrong file: a JSON / PNG passed as the model', async (ctx) => {
    expect(await loadError(ctx, join(GOLDEN_DIR, 'vae/config.json'), vae)).toMatch(/looks like a JSON file, not a safetensors file/);
    const png = join(mkdtempSync(join(tmpdir(), 'tether-png-')), 'x.safetensors');
    writeFileSync(png, Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]));
    expect(await loadError(ctx, png, vae)).toMatch(/this is a PNG image/);
    expect(await loadError(ctx, join(GOLDEN_DIR, 'vae/diffusion_pytorch_model.safetensors'), vae))
      .toMatch(/single diffusers component file; point at the model folder instead/);
    expect(await loadError(ctx, join(GOLDEN_DIR, 'does-not-exist'), vae)).toMatch(/no such file or directory/);
  });

  gpuTest('pickle .ckpt: single file and inside a diffusers folder say "convert to safetensors"', async (ctx) => {
    const dir = mkdtempSync(join(tmpdir(), 'tether-ckpt-'));
    const ckpt = join(dir, 'sd-v1-4.ckpt');
    writeFileSync(ckpt, Uint8Array.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    expect(await loadError(ctx, ckpt, vae)).toMatch(/PyTorch pickle checkpoint.*convert it to \.safetensors/);
    mkdirSync(join(dir, 'folder', 'vae'), { recursive: true });
    copyFileSync(join(GOLDEN_DIR, 'vae/config.json'), join(dir, 'folder/vae/config.json'));
    writeFileSync(join(dir, 'folder/vae/diffusion_pytorch_model.bin'), Uint8Array.from([0x80, 0x02, 0x7d, 0x71, 0, 0, 0, 0]));
    expect(await loadError(ctx, join(dir, 'folder'), vae)).toMatch(/diffusion_pytorch_model\.bin: this is a PyTorch pickle checkpoint.*convert/);
  });

  // (loading a single file of other sizes without a config folder: single_file_configs.test.ts)
  gpuTest('single file without a config folder: the shipped CLIP tokenizer in Node, none from a bare source; --config only for single files; unknown components', async (ctx) => {
    const sd = await loadPipelineFromPath(ctx, SINGLE_FILE, { components: ['tokenizer'] });
    expect(sd.tokenizer!.encode('a photo of a cat').inputIds.slice(0, 6)).toEqual([49406, 320, 1125, 539, 320, 2368]);
    expect(sd.configSource).toMatch(/CLIP tokenizer from .*weights\/fmnist/);
    const bare = { kind: 'single-file' as const, file: await fileByteSource(SINGLE_FILE) };
    await expect(loadPipeline(ctx, bare, { components: ['tokenizer'] })).rejects.toThrow(/single-file checkpoint has no tokenizer/);
    expect(await loadError(ctx, GOLDEN_DIR, { components: ['vae'], config: GOLDEN_DIR })).toMatch(/config folder \(--config\) applies to single-file/);
    expect(await loadError(ctx, GOLDEN_DIR, { components: ['nope' as 'vae'] })).toMatch(/unknown pipeline component "nope"/);
  });

  gpuTest('missing component files and configs', async (ctx) => {
    const dir = mkdtempSync(join(tmpdir(), 'tether-empty-'));
    expect(await loadError(ctx, dir, vae)).toMatch(/missing vae\/config\.json/);
    mkdirSync(join(dir, 'vae'));
    copyFileSync(join(GOLDEN_DIR, 'vae/config.json'), join(dir, 'vae/config.json'));
    expect(await loadError(ctx, dir, vae)).toMatch(/no weights for vae \(looked for vae\/diffusion_pytorch_model\.safetensors/);
  });
});

describe('configs', () => {
  test('weightDtype option', () => {
    const hw = { isFallbackAdapter: false } as GpuContext['adapter'], sw = { isFallbackAdapter: true } as GpuContext['adapter'];
    const noF16 = { hasF16: false, adapter: hw } as GpuContext, f16 = { hasF16: true, adapter: hw } as GpuContext;
    const cpuF16 = { hasF16: true, adapter: sw } as GpuContext;
    expect(resolveWeightDtype(noF16, 'auto')).toBe('f32');
    expect(resolveWeightDtype(f16, 'auto')).toBe('f16');
    expect(resolveWeightDtype(cpuF16, 'auto')).toBe('f32');           // f16 is slower on CPU adapters
    expect(resolveWeightDtype(cpuF16, 'f16')).toBe('f16');
    expect(resolveWeightDtype(f16, 'f32')).toBe('f32');
    expect(() => resolveWeightDtype(noF16, 'f16')).toThrow(/no shader-f16/);
    expect(() => resolveWeightDtype(f16, 'bf16' as 'f16')).toThrow(/must be 'auto', 'f16' or 'f32'/);
  });

  test('SD 1.4 and tiny configs parse; unsupported flags are rejected by name', () => {
    const sd = (p: string) => readFileSync(join(GOLDEN_DIR, 'sd14_configs', p), 'utf8');
    expect(parseVaeConfig(sd('vae/config.json')).blockOutChannels).toEqual([128, 256, 512, 512]);
    expect(parseClipTextConfig(sd('text_encoder/config.json'))).toMatchObject({ hiddenSize: 768, numAttentionHeads: 12, numHiddenLayers: 12 });
    expect(parseSchedulerConfig(sd('scheduler/scheduler_config.json')).betaEnd).toBe(0.012);
    expect(parseVaeConfig(readFileSync(join(GOLDEN_DIR, 'vae/config.json'), 'utf8')).blockOutChannels).toEqual([32, 64, 64, 64]);
    expect(() => parseVaeConfig({ block_out_channels: [32], act_fn: 'gelu' })).toThrow(/"act_fn" = "gelu" is not supported/);
    expect(() => parseVaeConfig({ block_out_channels: [32], latents_mean: [0, 0, 0, 0] })).toThrow(/latents_mean/);
    expect(() => parseVaeConfig({ block_out_channels: [32], up_block_types: ['AttnUpDecoderBlock2D'] })).toThrow(/up_block_types/);
    expect(() => parseClipTextConfig({ hidden_act: 'gelu' })).toThrow(/hidden_act "gelu" is not supported/);
    expect(() => parseSchedulerConfig(JSON.stringify({ beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012, prediction_type: 'v_prediction' })))
      .toThrow(/prediction_type "v_prediction"/);
  });
});
