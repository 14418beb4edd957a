// The embedded model (weights/fmnist) loads through the same code paths as SD 1.4: its diffusers
// folder, and a single-file CompVis copy built from it with the loader's own key map (as a user
// converting it would get). Both loads must give bit-identical text embeddings, UNet noise
// predictions and VAE encodings / decodings: the single-file path renames and reshapes, nothing else.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import type { GpuContext } from '../../src/gpu/context.js';
import { setAutoTune } from '../../src/kernels/select_variant.js';
import type { StableDiffusionModel } from '../../src/models/load_pipeline.js';
import { loadPipelineFromPath } from '../../src/models/load_pipeline_node.js';
import { diffusersShapeToLdm, diffusersToLdm, layoutFromDiffusersKeys, type Component } from '../../src/weights/keymap_ldm.js';
import { loadComponentWeights } from '../../src/weights/model_source.js';
import { nodeModelFiles } from '../../src/weights/model_source_node.js';
import { encodeSafetensors, type TensorToWrite } from '../../src/weights/safetensors_write.js';
import { Rng } from '../../src/util/rng.js';
import { gpuTest } from '../helpers/gpu.js';

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

function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Text embeddings, a CFG-style UNet batch, VAE encode and decode of one model. */
async function outputs(ctx: GpuContext, m: StableDiffusionModel): Promise<Record<string, Float32Array>> {
  const S = m.configs.unet.sample_size ?? 8, C = m.configs.unet.in_channels ?? 4;
  const te = m.text_encoder!.forward(ctx, [m.tokenizer!.encode('').inputIds, m.tokenizer!.encode('a sneaker').inputIds]);
  const rng = new Rng(11);
  const x = ctx.upload(rng.normals(2 * C * S * S), [2, C, S, S]);
  const eps = m.unet!.forward(ctx, x, [981, 301], te.last_hidden_state);
  const factor = m.vae!.downFactor;
  const img = ctx.upload(rng.normals(3 * (S * factor) ** 2).map((v) => Math.tanh(v)), [1, 3, S * factor, S * factor]);
  const moments = m.vae!.encode(ctx, img);
  const z = ctx.upload(rng.normals(C * S * S), [1, C, S, S]);
  const dec = m.vae!.decode(ctx, z);
  const res = {
    prompt_embeds: await ctx.read(te.last_hidden_state), eps: await ctx.read(eps),
    mean: await ctx.read(moments.mean), logvar: await ctx.read(moments.logvar), decoded: await ctx.read(dec),
  };
  ctx.release(te.last_hidden_state, te.pooler_output, x, eps, img, moments.mean, moments.logvar, z, dec);
  return res;
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
      const [oa, ob] = [await outputs(ctx, a), await outputs(ctx, b)];
      for (const k of Object.keys(oa)) {
        const d = maxDiff(ob[k]!, oa[k]!);
        console.log(`${k}: ${oa[k]!.length} values, max |single - folder| = ${d}`);
        expect(oa[k]!.every(Number.isFinite), `${k} finite`).toBe(true);
        expect(d, k).toBe(0);
      }
      console.log(`single file: ${single.tensors} tensors`);
    } finally {
      a.destroy(ctx);
      b.destroy(ctx);
    }
  }, 300_000);
});
