// A CLIP vision tower from byte sources, the same for Node (`--clip PATH`, load_node.ts) and the
// page (a picked folder or File, web/engine_worker.ts). Where the files are is a ModelFiles:
//  - a folder with config.json and *.safetensors (CLIPModel or CLIPVisionModel save_pretrained,
//    e.g. a download of openai/clip-vit-base-patch16, or the goldens' tiny clip_vision/), or
//  - one .safetensors file of it (`file`); a CLIP config.json beside it is used when there is one,
//    otherwise the sizes are read off the tensor shapes (head_dim 64 assumed, as in all OpenAI ViTs).
// Only the tensor headers are read whole; each kept tensor is read by its own byte range and
// uploaded, and nothing else (text tower, later layers) is read at all. Browser-safe.
import type { GpuContext } from '../gpu/context.js';
import type { ParamOptions } from '../nn/param.js';
import type { ModelFiles } from '../weights/model_source.js';
import { openSafetensors, type SafetensorsFile } from '../weights/safetensors.js';
import { ClipVisionModel } from './clip_vision_model.js';
import { inferClipVisionConfig, parseClipVisionConfig, type ClipVisionConfig } from './config.js';
import { checkClipLayout, clipVisionWeights, countLayers, shapeLookup, summarizeClipKeys, type ClipKeySummary } from './weights.js';

export interface ClipLoadOptions extends ParamOptions {
  /** encoder layers to load (default 3: the style features are hidden_states[3]) */
  numLayers?: number;
}

/** Where a tower's files are: a folder, or (with `file`) one .safetensors file in it. */
export interface ClipFiles {
  files: ModelFiles;
  /** one file of `files` (its path there); without it, the folder's top-level .safetensors files */
  file?: string;
  /** prefix of every message: the CLI's `--clip PATH`, the page's file or folder name */
  label: string;
}

export interface OpenedClip {
  files: SafetensorsFile[];
  config: ClipVisionConfig | null;
  /** 'config.json' (its name in `files`) or 'tensor shapes of ...' */
  configFrom: string;
}

/** What a load read and uploaded, for a status line. */
export interface ClipLoadSummary extends ClipKeySummary {
  config: ClipVisionConfig;
  configFrom: string;
  /** the .safetensors files read */
  fileNames: string[];
}

/** A CLIP config from a config.json's text, or null when the JSON belongs to something else. */
export function clipConfigFromJson(text: string, name: string): ClipVisionConfig | null {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${name}: ${(e as Error).message}`);
  }
  const j = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>;
  // a config.json beside a lone file may belong to something else: only CLIP configs count
  const isClip = /^clip/.test(String(j.model_type ?? '')) || typeof j.vision_config === 'object' || typeof j.vision_config_dict === 'object' ||
    (Array.isArray(j.architectures) && j.architectures.some((a) => /^CLIP/.test(String(a))));
  return isClip ? parseClipVisionConfig(json, name) : null;
}

const PICKLE_EXT = /\.(bin|pt|pth|ckpt)$/i;
const NOT_READ = 'pytorch_model.bin is not read (Tether never unpickles files): use the hub\'s model.safetensors';

/** The .safetensors paths a ClipFiles names (model.safetensors preferred in a folder holding variants). */
async function safetensorsPaths(where: ClipFiles): Promise<string[]> {
  const { files, file, label } = where;
  if (file !== undefined) {
    if (PICKLE_EXT.test(file)) throw new Error(`${label}: ${NOT_READ}`);
    if (!file.endsWith('.safetensors')) throw new Error(`${label}: expected a .safetensors file or a folder holding one`);
    return [file];
  }
  const names = (await files.list()).filter((n) => !n.includes('/') && n.endsWith('.safetensors')).sort();
  if (names.length === 0) throw new Error(`${label}: no .safetensors file in this folder (${NOT_READ})`);
  return names.includes('model.safetensors') ? ['model.safetensors'] : names;
}

/** Opens the safetensors headers and the config of a tower (the sources stay open: close them). */
export async function openClipFiles(where: ClipFiles): Promise<OpenedClip> {
  const paths = await safetensorsPaths(where);
  const opened: SafetensorsFile[] = [];
  try {
    for (const p of paths) {
      const src = await where.files.open(p);
      if (!src) throw new Error(`${where.label}: no such file ${p}`);
      try {
        opened.push(await openSafetensors(src)); // its errors name the file (and say what it is instead)
      } catch (e) {
        await src.close?.();
        throw e;
      }
    }
    const dir = where.file?.includes('/') ? where.file.slice(0, where.file.lastIndexOf('/') + 1) : '';
    const configName = `${dir}config.json`;
    const text = await where.files.readText(configName);
    const config = text === null ? null : clipConfigFromJson(text, `${where.files.name}/${configName}`);
    const base = (p: string) => p.slice(p.lastIndexOf('/') + 1);
    return { files: opened, config, configFrom: config ? configName : `tensor shapes of ${paths.map(base).join(', ')}` };
  } catch (e) {
    await Promise.all(opened.map((f) => f.source.close?.()));
    throw e;
  }
}

/** Loads vision_model's embeddings, pre_layrnorm and encoder layers 0..numLayers-1 (f32 by default). */
export async function loadClipVision(ctx: GpuContext, where: ClipFiles, opts: ClipLoadOptions = {}): Promise<{ model: ClipVisionModel; summary: ClipLoadSummary }> {
  const { files, config, configFrom } = await openClipFiles(where);
  try {
    const numLayers = opts.numLayers ?? 3;
    checkClipLayout(files, where.label);
    const cfg = config ?? inferClipVisionConfig(shapeLookup(files), countLayers(files));
    const weights = clipVisionWeights(files, numLayers, where.label);
    // f32 weights by default: the style gradient is compared at 1e-4 of its scale (f16 gives ~1e-2)
    const model = await ClipVisionModel.load(ctx, weights, cfg, numLayers, { weightDtype: 'f32', ...opts });
    const summary = { ...summarizeClipKeys(files, numLayers), config: cfg, configFrom, fileNames: files.map((f) => f.source.name) };
    return { model, summary };
  } finally {
    await Promise.all(files.map((f) => f.source.close?.()));
  }
}
