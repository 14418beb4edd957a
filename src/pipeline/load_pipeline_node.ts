// Node-only: loadPipeline from a local path (a diffusers folder or a single-file checkpoint).
// Kept apart from load_pipeline.ts so a browser bundle never imports node:fs.
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import type { GpuContext } from '../gpu/context.js';
import { fileByteSource } from '../weights/byte_source_node.js';
import { embeddedModelPath } from '../weights/embedded_node.js';
import { nodeModelFiles } from '../weights/model_source_node.js';
import { loadPipeline, type LoadPipelineOptions, type ModelSource, type OriginalConfigText, type StableDiffusionModel } from './load_pipeline.js';

export interface NodeLoadOptions extends LoadPipelineOptions {
  /** For a single file: a diffusers folder whose configs and tokenizer to use. */
  config?: string;
  /**
   * For a single file: an LDM config (v1-inference.yaml schema) for what its tensor shapes cannot
   * tell; with `config` too, that folder then gives only the tokenizer. Without either,
   * `<checkpoint name>.yaml` beside the file is used when present (the usual SD front-end convention).
   */
  originalConfig?: string;
}

async function kindOf(path: string, what: string): Promise<'dir' | 'file'> {
  const st = await stat(path).catch((e: NodeJS.ErrnoException) => {
    throw new Error(`${what} ${path}: ${e.code === 'ENOENT' ? 'no such file or directory' : e.message}`);
  });
  if (st.isDirectory()) return 'dir';
  if (st.isFile()) return 'file';
  throw new Error(`${what} ${path}: neither a file nor a directory`);
}

/** The yaml to read for a single file: the one given, else `<name>.yaml` beside it, else none. */
async function originalConfigFor(path: string, given?: string): Promise<OriginalConfigText | undefined> {
  const beside = join(dirname(path), `${basename(path, extname(path))}.yaml`);
  const file = given ?? beside;
  if (!given && !(await stat(beside).then((s) => s.isFile(), () => false))) return undefined;
  if ((await kindOf(file, 'original config')) !== 'file') throw new Error(`original config ${file}: not a file`);
  return { name: file, text: await readFile(file, 'utf8') };
}

/** A diffusers folder path or a single-file checkpoint path -> ModelSource. */
export async function nodeModelSource(path: string, configDir?: string, originalConfig?: string): Promise<ModelSource> {
  if ((await kindOf(path, 'model')) === 'dir') {
    if (configDir) throw new Error(`a config folder (--config) applies to single-file checkpoints only; ${path} is a folder`);
    if (originalConfig) throw new Error(`an original config (--original-config) applies to single-file checkpoints only; ${path} is a folder`);
    return { kind: 'diffusers', files: nodeModelFiles(path) };
  }
  if (configDir && (await kindOf(configDir, 'config folder')) !== 'dir') throw new Error(`config folder ${configDir}: not a directory`);
  // An explicit config folder wins over a yaml that merely sits beside the file.
  const yaml = configDir && !originalConfig ? undefined : await originalConfigFor(path, originalConfig);
  return {
    kind: 'single-file', file: await fileByteSource(path), config: configDir ? nodeModelFiles(configDir) : undefined, originalConfig: yaml,
    // no config folder: SD 1.x's CLIP tokenizer, as shipped with the embedded model
    tokenizer: configDir ? undefined : nodeModelFiles(embeddedModelPath()),
  };
}

export async function loadPipelineFromPath(ctx: GpuContext, path: string, opts: NodeLoadOptions = {}): Promise<StableDiffusionModel> {
  return loadPipeline(ctx, await nodeModelSource(path, opts.config, opts.originalConfig), opts);
}
