// Node-only: loadPipeline from a local path (a diffusers folder or a single-file checkpoint).
// Kept apart from load_pipeline.ts so a browser bundle never imports node:fs.
import { stat } from 'node:fs/promises';
import type { GpuContext } from '../gpu/context.js';
import { fileByteSource } from '../weights/byte_source_node.js';
import { nodeModelFiles } from '../weights/model_source_node.js';
import { loadPipeline, type LoadPipelineOptions, type ModelSource, type StableDiffusionModel } from './load_pipeline.js';

export interface NodeLoadOptions extends LoadPipelineOptions {
  /** For a single file: a diffusers folder whose configs and tokenizer to use. */
  config?: string;
}

async function kindOf(path: string, what: string): Promise<'dir' | 'file'> {
  const st = await stat(path).catch((e: NodeJS.ErrnoException) => {
    throw new Error(`${what} ${path}: ${e.code === 'ENOENT' ? 'no such file or directory' : e.message}`);
  });
  if (st.isDirectory()) return 'dir';
  if (st.isFile()) return 'file';
  throw new Error(`${what} ${path}: neither a file nor a directory`);
}

/** A diffusers folder path or a single-file checkpoint path -> ModelSource. */
export async function nodeModelSource(path: string, configDir?: string): Promise<ModelSource> {
  if ((await kindOf(path, 'model')) === 'dir') {
    if (configDir) throw new Error(`--config applies to single-file checkpoints only; ${path} is a folder`);
    return { kind: 'diffusers', files: nodeModelFiles(path) };
  }
  if (configDir && (await kindOf(configDir, 'config folder')) !== 'dir') throw new Error(`config folder ${configDir}: not a directory`);
  return { kind: 'single-file', file: await fileByteSource(path), config: configDir ? nodeModelFiles(configDir) : undefined };
}

export async function loadPipelineFromPath(ctx: GpuContext, path: string, opts: NodeLoadOptions = {}): Promise<StableDiffusionModel> {
  return loadPipeline(ctx, await nodeModelSource(path, opts.config), opts);
}
