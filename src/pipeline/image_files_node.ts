// Node: images and masks from files, results to PNG files with the run's parameters as metadata
// (A1111-style `parameters` text that image tools read, plus the JSON under `tether`). For the
// library surface (src/node.ts); the CLI's readers are the same functions.
import { basename } from 'node:path';
import { readImageArg, readMaskArg } from '../cli/inputs_node.js';
import { batchOutputPaths } from '../cli/output_paths_node.js';
import { writePngAtomic } from '../cli/png_node.js';
import { SOFTWARE } from '../version.js';
import { tensorToRgba } from './image.js';
import { a1111Parameters } from './png_text.js';
import type { ImageData4 } from './tasks.js';

/** A PNG (RGB) or a .safetensors with `image` [N, 3, H, W] in [-1, 1]. */
export const readImage = (path: string): Promise<ImageData4> => readImageArg(path);

/** A PNG (white = fill, black = keep) or a .safetensors `mask` [N, 1, H, W] with 1 = known. */
export const readMask = (path: string): Promise<ImageData4> => readMaskArg(path);

/**
 * Writes each image of the batch atomically: `path` for one image, `name-0.png`, `name-1.png`, ...
 * for more. Returns the paths written.
 */
export async function writeImage(path: string, images: ImageData4, parameters: Record<string, unknown> = {}): Promise<string[]> {
  const [n, c, H, W] = images.shape;
  const paths = batchOutputPaths(path, n);
  const p = parameters as Record<string, number & string & null>;
  const text = {
    parameters: a1111Parameters({
      prompt: String(p.prompt ?? ''), negativePrompt: String(p.negative_prompt ?? ''), steps: p.steps, guidance: p.guidance,
      seed: p.seed ?? null, width: W, height: H, model: basename(String(p.model ?? '')),
      extra: { 'Tether task': p.task, 'Tether method': p.method, K: p.K, lr: p.lr, Schedule: p.schedule, Version: SOFTWARE },
    }),
    tether: JSON.stringify(parameters),
    Software: SOFTWARE,
  };
  for (let i = 0; i < n; i++) await writePngAtomic(paths[i]!, tensorToRgba(images.data, c, H, W, i * c * H * W), text);
  return paths;
}
