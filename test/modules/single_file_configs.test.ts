// A single-file checkpoint of non-SD-1.4 sizes (the tiny golden one) loads with NO config folder:
// its configs are read off the tensor shapes, with the LDM yaml (given, or beside the file under
// the same base name) for what shapes cannot tell. It must compute exactly what the golden
// diffusers folder computes: text embeddings, UNet, VAE encode and decode; and the text
// embeddings must match the diffusers golden. Tensors that disagree are refused by name. With a
// yaml and --config together the folder gives only the tokenizer, and `tether generate` must
// draw the folder's pixels.
import { copyFileSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect } from 'vitest';
import { setAutoTune } from '../../src/kernels/select_variant.js';
import { readModelConfigs } from '../../src/pipeline/load_pipeline.js';
import { loadPipelineFromPath, nodeModelSource } from '../../src/pipeline/load_pipeline_node.js';
import { fileByteSource } from '../../src/weights/byte_source_node.js';
import { openSafetensors } from '../../src/weights/safetensors.js';
import { encodeSafetensors, type TensorToWrite } from '../../src/weights/safetensors_write.js';
import { tether } from '../cli/cli_harness.js';
import { GOLDEN_DIR, openGolden } from '../helpers/golden.js';
import { gpuTest } from '../helpers/gpu.js';
import { expectClose } from '../helpers/numeric.js';
import { expectSameOutputs } from './model_outputs.js';

beforeAll(() => setAutoTune(false)); // both loads use the same provisional kernels: same sums, same bits

const SINGLE = join(GOLDEN_DIR, 'single_file/tiny-sd14-public.safetensors');
const YAML = join(GOLDEN_DIR, 'single_file/tiny-v1-inference-public.yaml');
const NO_TOKENIZER = { components: ['text_encoder', 'unet', 'vae'] as const, weightDtype: 'f32' as const };

/** Token ids of the pipeline golden's two prompts (a single file has no tokenizer). */
async function goldenIds(): Promise<number[][]> {
  const g = await openGolden('goldens/pipeline.safetensors');
  return [await g.i64('negative_input_ids'), await g.i64('input_ids')];
}

/** The tiny single file with `edit` applied to its tensors, written to a temp folder. */
async function editedCopy(edit: (t: Record<string, TensorToWrite>) => void): Promise<string> {
  const f = await openSafetensors(await fileByteSource(SINGLE));
  const t: Record<string, TensorToWrite> = {};
  for (const [k, info] of f.tensors) t[k] = { dtype: 'F32', shape: [...info.shape], data: await f.readF32(k) };
  await f.source.close?.();
  edit(t);
  const path = join(mkdtempSync(join(tmpdir(), 'tether-sf-')), 'edited.safetensors');
  writeFileSync(path, encodeSafetensors(t));
  return path;
}

describe('single file without a config folder', () => {
  gpuTest('tiny golden single file: configs from its shapes, outputs identical to the golden folder', async (ctx) => {
    const ids = await goldenIds();
    const folder = await loadPipelineFromPath(ctx, GOLDEN_DIR, NO_TOKENIZER);
    const single = await loadPipelineFromPath(ctx, SINGLE, NO_TOKENIZER);
    try {
      console.log(single.configSource);
      expect(single.configSource).toMatch(/inferred from the tensor shapes of .*tiny-sd14-public\.safetensors; SD 1\.x defaults for UNet attention heads \(8\)/);
      expect(single.configs.unet).toEqual({ ...folder.configs.unet, sample_size: 64 }); // no yaml: SD 1.x's 64
      expect(single.configs.text_encoder).toEqual(folder.configs.text_encoder);
      expect(single.configs.vae.blockOutChannels).toEqual([32, 64, 64, 64]);
      // the same configs before loading (header only), for checks that run first
      const src = await nodeModelSource(SINGLE);
      const early = await readModelConfigs(src).finally(() => (src.kind === 'single-file' ? src.file.close?.() : undefined));
      expect({ ...early.unet, text_encoder: early.text_encoder, from: early.configSource })
        .toEqual({ ...single.configs.unet, text_encoder: single.configs.text_encoder, from: single.configSource });
      await expectSameOutputs(ctx, folder, single, ids, 8);
      // and against diffusers itself: the golden prompt embeddings
      const g = await openGolden('goldens/pipeline.safetensors');
      const te = single.text_encoder!.forward(ctx, ids);
      const e = await ctx.read(te.last_hidden_state);
      ctx.release(te.last_hidden_state, te.pooler_output);
      expectClose(e.subarray(77 * 32), await g.f32('prompt_embeds'), { atol: 1e-4, rtol: 1e-4 }, 'prompt_embeds');
    } finally {
      folder.destroy(ctx);
      single.destroy(ctx);
    }
  }, 300_000);

  gpuTest('the LDM yaml, given or beside the file: its sample size and schedule, same outputs', async (ctx) => {
    const ids = await goldenIds();
    const dir = mkdtempSync(join(tmpdir(), 'tether-yaml-'));
    symlinkSync(SINGLE, join(dir, 'tiny.safetensors'));
    copyFileSync(YAML, join(dir, 'tiny.yaml')); // the "<name>.yaml beside the checkpoint" convention
    const folder = await loadPipelineFromPath(ctx, GOLDEN_DIR, NO_TOKENIZER);
    const given = await loadPipelineFromPath(ctx, SINGLE, { ...NO_TOKENIZER, components: ['unet'], originalConfig: YAML });
    const beside = await loadPipelineFromPath(ctx, join(dir, 'tiny.safetensors'), NO_TOKENIZER);
    try {
      expect(given.configSource).toMatch(/with .*tiny-v1-inference-public\.yaml for what shapes cannot tell/);
      expect(beside.configSource).toMatch(/with .*tiny\.yaml for what shapes cannot tell/);
      expect(beside.configSource).not.toMatch(/UNet attention heads|scaling factor|noise schedule/);
      for (const m of [given, beside]) {
        expect(m.configs.unet).toEqual(folder.configs.unet); // sample_size 16 from the yaml's image_size
        expect(m.scheduler).toMatchObject({ betaStart: 0.00085, betaEnd: 0.012, numTrainTimesteps: 1000, predictionType: 'epsilon' });
      }
      await expectSameOutputs(ctx, folder, beside, ids, 8);
      // a yaml that does not belong to the checkpoint is refused by field and tensor
      await expect(loadPipelineFromPath(ctx, SINGLE, { ...NO_TOKENIZER, originalConfig: join(GOLDEN_DIR, 'sd14_configs/v1-inference.yaml') }))
        .rejects.toThrow(/v1-inference\.yaml: unet_config\.params\.model_channels is 320, but .* has 32 \(from tensor model\.diffusion_model\.input_blocks\.0\.0\.weight\)/);
      await expect(loadPipelineFromPath(ctx, GOLDEN_DIR, { ...NO_TOKENIZER, originalConfig: YAML }))
        .rejects.toThrow(/original config \(--original-config\) applies to single-file checkpoints only/);
    } finally {
      for (const m of [folder, given, beside]) m.destroy(ctx);
    }
  }, 300_000);

  gpuTest('tether generate: single file + --original-config, tokenizer from --config: the folder\'s pixels', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tether-sf-cli-'));
    const run = (out: string, ...model: string[]) =>
      tether('generate', ...model, '-p', 'a dress', '--steps', '2', '--seed', '5', '--width', '64', '--height', '64', '-o', join(dir, out));
    const a = await run('folder.png', '--model', GOLDEN_DIR);
    const b = await run('single.png', '--model', SINGLE, '--original-config', YAML, '--config', GOLDEN_DIR);
    expect(a.code, a.message).toBe(0);
    expect(b.code, b.message).toBe(0);
    expect(b.stderr).toMatch(/configs: inferred from the tensor shapes of .*tiny-sd14-public\.safetensors, with .*tiny-v1-inference-public\.yaml for what shapes cannot tell; SD 1\.x defaults for text encoder heads \(4: .*\); tokenizer from /);
    const pixels = (f: string) => PNG.sync.read(readFileSync(join(dir, f))).data;
    expect(new Set(pixels('folder.png')).size, 'a real image, not a flat one').toBeGreaterThan(50);
    expect(pixels('single.png').equals(pixels('folder.png'))).toBe(true);
  }, 300_000);

  gpuTest('tensors that disagree with each other: refused naming the tensor as it is in the file', async (ctx) => {
    const before = ctx.residentBytes;
    // a resnet conv whose input width does not fit the block widths read off the other tensors
    const path = await editedCopy((t) => {
      t['model.diffusion_model.input_blocks.5.0.in_layers.2.weight'] = { dtype: 'F32', shape: [64, 48, 3, 3], data: new Float32Array(64 * 48 * 9) };
    });
    await expect(loadPipelineFromPath(ctx, path, { ...NO_TOKENIZER, components: ['unet'] })).rejects.toThrow(
      /weight "down_blocks\.1\.resnets\.1\.conv1\.weight" \(tensor "model\.diffusion_model\.input_blocks\.5\.0\.in_layers\.2\.weight" in .*edited\.safetensors\) has shape \[64, 48, 3, 3\] but the model expects \[64, 64, 3, 3\][^]*tensors disagree with each other/);
    // one cross-attention of another width than the rest: refused while reading the configs
    const path2 = await editedCopy((t) => {
      t['model.diffusion_model.output_blocks.4.1.transformer_blocks.0.attn2.to_k.weight'] = { dtype: 'F32', shape: [64, 48], data: new Float32Array(64 * 48) };
    });
    await expect(loadPipelineFromPath(ctx, path2, NO_TOKENIZER)).rejects.toThrow(
      /edited\.safetensors: tensor model\.diffusion_model\.output_blocks\.4\.1\.transformer_blocks\.0\.attn2\.to_k\.weight implies cross-attention width 48, but .* implies 32/);
    expect(ctx.residentBytes, 'failed loads free what they uploaded').toBe(before);
  }, 300_000);
});
