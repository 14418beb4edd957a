// The embedded model (weights/fmnist) loads through the same code paths as SD 1.4: its diffusers
// folder, and a single-file CompVis copy built from it with the loader's own key map (as a user
// converting it would get). Both loads must give bit-identical text embeddings, UNet noise
// predictions and VAE encodings / decodings: the single-file path renames and reshapes, nothing else.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { setAutoTune } from '../../src/kernels/select_variant.js';
import { loadPipelineFromPath } from '../../src/pipeline/load_pipeline_node.js';
import { diffusersShapeToLdm, diffusersToLdm, layoutFromDiffusersKeys, type Component } from '../../src/weights/keymap_ldm.js';
import { loadComponentWeights } from '../../src/weights/model_source.js';
import { nodeModelFiles } from '../../src/weights/model_source_node.js';
import { encodeSafetensors, type TensorToWrite } from '../../src/weights/safetensors_write.js';
import { gpuTest } from '../helpers/gpu.js';
import { expectSameOutputs } from './model_outputs.js';

const MODEL = 'weights/fmnist';
const COMPONENTS: Component[] = ['unet', 'vae', 'text_encoder'];

// Correctness only: both loads use the provisional kernel variants, so their sums run in the same order.
beforeAll(() => setAutoTune(false));

let dir = '';
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

/** weights/fmnist as one CompVis-layout .safetensors file (keys and shapes by the loader's map). */
async function buildSingleFile(): Promise<{ path: string; tensors: number }> {
  const folder = nodeModelFiles(MODEL);
  const parts = Object.fromEntries(await Promise.all(COMPONENTS.map(async (c) => [c, await loadComponentWeights(folder, c)])));
  const layout = layoutFromDiffusersKeys(parts.unet!.keys(), parts.vae!.keys());
  const out: Record<string, TensorToWrite> = {};
  for (const c of COMPONENTS) {
    const w = parts[c]!;
    for (const key of w.keys()) {
      const ldm = diffusersToLdm(c, key, layout);
      if (!ldm) throw new Error(`${c}.${key} has no CompVis name`);
      const t = w.tensor(key);
      out[ldm] = { dtype: 'F32', shape: [...diffusersShapeToLdm(c, key, t.shape)], data: await t.readF32() };
    }
    await w.close();
  }
  dir = mkdtempSync(join(tmpdir(), 'tether-fmnist-single-'));
  const path = join(dir, 'fmnist.safetensors');
  writeFileSync(path, encodeSafetensors(out));
  return { path, tensors: Object.keys(out).length };
}

describe('the embedded model as a single file', () => {
  gpuTest('a CompVis single-file copy of weights/fmnist loads and computes exactly what the folder does', async (ctx) => {
    const single = await buildSingleFile();
    const a = await loadPipelineFromPath(ctx, MODEL, { weightDtype: 'f32' });
    const b = await loadPipelineFromPath(ctx, single.path, { weightDtype: 'f32', config: MODEL });
    try {
      expect(a.kind).toBe('diffusers');
      expect(b.kind).toBe('single-file');
      expect(b.configs.vae.blockOutChannels).toEqual(a.configs.vae.blockOutChannels);
      await expectSameOutputs(ctx, a, b, [a.tokenizer!.encode('').inputIds, a.tokenizer!.encode('a sneaker').inputIds]);
      console.log(`single file: ${single.tensors} tensors`);
    } finally {
      a.destroy(ctx);
      b.destroy(ctx);
    }
  }, 300_000);
});
