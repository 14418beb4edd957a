// tether-sd/node: the browser-safe surface plus what needs Node — a GPU through Dawn, models and
// CLIP towers from paths, PNG files in and out (with the run's parameters as metadata), the
// embedded model's path, and the per-user kernel-variant table (docs/noise.md).
//   import { openPipeline, readImage, readMask, writeImage } from 'tether-sd/node';
//   const pipe = await openPipeline();                       // the embedded model
//   const r = await pipe.run({ task: 'inpaint', image: readImage('in.png'), mask: readMask('mask.png'), seed: 1 });
//   await writeImage('out.png', r.images, r.parameters);
import { loadClipVisionFromPath } from './clip_vision/load_node.js';
import { ClipStyleLoss } from './clip_vision/style_loss.js';
import { embeddedModelPath } from './cli/inputs_node.js';
import { loadVariantCache, saveVariantCache } from './cli/variant_cache_node.js';
import { createNodeGpuContext } from './gpu/device_node.js';
import { nodeModelSource } from './pipeline/load_pipeline_node.js';
import { SdPipeline, type OpenOptions } from './pipeline/sd_pipeline.js';

export * from './index.js';
export { createNodeGpuContext } from './gpu/device_node.js';
export { readImage, readMask, writeImage } from './pipeline/image_files_node.js';

export interface NodeOpenOptions extends Omit<OpenOptions, 'config' | 'gpu'> {
  /** for a single-file checkpoint: a diffusers folder with the configs and tokenizer */
  config?: string;
  /** keep the kernel-variant table in ~/.cache/tether (default true; docs/noise.md) */
  variantCache?: boolean;
}

/** A pipeline from a diffusers folder or a single-file checkpoint path (default: the embedded model). */
export async function openPipeline(path: string = embeddedModelPath(), opts: NodeOpenOptions = {}): Promise<SdPipeline> {
  const ctx = opts.ctx ?? await createNodeGpuContext();
  if (opts.variantCache !== false) loadVariantCache(ctx);
  const pipe = await SdPipeline.open(await nodeModelSource(path, opts.config), { ...opts, config: undefined, ctx });
  if (opts.variantCache !== false) {
    const run = pipe.run.bind(pipe);
    pipe.run = async (req, o) => { const r = await run(req, o); saveVariantCache(ctx); return r; };
  }
  return pipe;
}

/** The CLIP style loss of a vision tower at a path (folder or model.safetensors), for style guidance. */
export async function openStyleLoss(pipe: SdPipeline, path: string): Promise<ClipStyleLoss> {
  return new ClipStyleLoss(await loadClipVisionFromPath(pipe.ctx, path));
}

/** Where the embedded Fashion-MNIST model lives (weights/fmnist in the package). */
export const embeddedModel = embeddedModelPath;
