// Node-only: a CLIP vision tower from a path, for `--clip PATH`. PATH is either
//  - a folder with config.json and *.safetensors (CLIPModel or CLIPVisionModel save_pretrained,
//    e.g. a download of openai/clip-vit-base-patch16, or the goldens' tiny clip_vision/), or
//  - a single .safetensors file; a CLIP config.json beside it is used when there is one,
//    otherwise the sizes are read off the tensor shapes (head_dim 64 assumed, as in all OpenAI ViTs).
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { GpuContext } from '../gpu/context.js';
import type { ParamOptions } from '../nn/param.js';
import { fileByteSource } from '../weights/byte_source_node.js';
import { openSafetensors, type SafetensorsFile } from '../weights/safetensors.js';
import { ClipVisionModel } from './clip_vision_model.js';
import { inferClipVisionConfig, parseClipVisionConfig, type ClipVisionConfig } from './config.js';
import { checkClipLayout, clipVisionWeights, countLayers, shapeLookup } from './weights.js';

export interface ClipLoadOptions extends ParamOptions {
  /** encoder layers to load (default 3: the style features are hidden_states[3]) */
  numLayers?: number;
}

async function readClipConfig(path: string): Promise<ClipVisionConfig | null> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`${path}: ${(e as Error).message}`);
  }
  const j = json as Record<string, unknown>;
  // a config.json beside a lone file may belong to something else: only CLIP configs count
  const isClip = /^clip/.test(String(j.model_type ?? '')) || typeof j.vision_config === 'object' || typeof j.vision_config_dict === 'object' ||
    (Array.isArray(j.architectures) && j.architectures.some((a) => /^CLIP/.test(String(a))));
  return isClip ? parseClipVisionConfig(json, path) : null;
}

/** The safetensors files and config a --clip PATH names. */
export async function openClipPath(path: string): Promise<{ files: SafetensorsFile[]; config: ClipVisionConfig | null; configFrom: string }> {
  const st = await stat(path).catch((e: NodeJS.ErrnoException) => {
    throw new Error(`--clip ${path}: ${e.code === 'ENOENT' ? 'no such file or directory' : e.message}`);
  });
  let paths: string[], dir: string;
  if (st.isDirectory()) {
    dir = path;
    const names = (await readdir(path)).filter((n) => n.endsWith('.safetensors')).sort();
    if (names.length === 0) {
      throw new Error(`--clip ${path}: no .safetensors file in this folder (pytorch_model.bin is not read: use the hub's model.safetensors)`);
    }
    // prefer the unsharded file when a folder holds both it and other variants
    paths = (names.includes('model.safetensors') ? ['model.safetensors'] : names).map((n) => join(path, n));
  } else {
    if (!path.endsWith('.safetensors')) throw new Error(`--clip ${path}: expected a .safetensors file or a folder holding one`);
    dir = dirname(path);
    paths = [path];
  }
  const files = await Promise.all(paths.map(async (p) => openSafetensors(await fileByteSource(p))));
  const configPath = join(dir, 'config.json');
  const config = await readClipConfig(configPath);
  return { files, config, configFrom: config ? configPath : `tensor shapes of ${paths.map((p) => basename(p)).join(', ')}` };
}

export async function loadClipVisionFromPath(ctx: GpuContext, path: string, opts: ClipLoadOptions = {}): Promise<ClipVisionModel> {
  const { files, config } = await openClipPath(path);
  try {
    const numLayers = opts.numLayers ?? 3;
    checkClipLayout(files, path);
    const cfg = config ?? inferClipVisionConfig(shapeLookup(files), countLayers(files));
    const weights = clipVisionWeights(files, numLayers, path);
    // f32 weights by default: the style gradient is compared at 1e-4 of its scale (f16 gives ~1e-2)
    return await ClipVisionModel.load(ctx, weights, cfg, numLayers, { weightDtype: 'f32', ...opts });
  } finally {
    await Promise.all(files.map((f) => f.source.close?.()));
  }
}
