// Node-only: a CLIP vision tower from a path, for `--clip PATH` (a folder, or one .safetensors
// file with or without a config.json beside it). Only turns the path into a ModelFiles; what is
// read and how is load.ts, shared with the page.
import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { GpuContext } from '../gpu/context.js';
import { nodeModelFiles } from '../weights/model_source_node.js';
import type { ClipVisionModel } from './clip_vision_model.js';
import { loadClipVision, openClipFiles, type ClipFiles, type ClipLoadOptions, type OpenedClip } from './load.js';

export type { ClipLoadOptions } from './load.js';

/** The ClipFiles a --clip PATH names. */
export async function clipFilesFromPath(path: string): Promise<ClipFiles> {
  const st = await stat(path).catch((e: NodeJS.ErrnoException) => {
    throw new Error(`--clip ${path}: ${e.code === 'ENOENT' ? 'no such file or directory' : e.message}`);
  });
  const label = `--clip ${path}`;
  return st.isDirectory() ? { files: nodeModelFiles(path), label } : { files: nodeModelFiles(dirname(path)), file: basename(path), label };
}

/** The safetensors files and config a --clip PATH names (the sources stay open: close them). */
export async function openClipPath(path: string): Promise<OpenedClip> {
  return openClipFiles(await clipFilesFromPath(path));
}

export async function loadClipVisionFromPath(ctx: GpuContext, path: string, opts: ClipLoadOptions = {}): Promise<ClipVisionModel> {
  return (await loadClipVision(ctx, await clipFilesFromPath(path), opts)).model;
}
