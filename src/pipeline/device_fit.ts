// Will a model and an image size fit this device? Answered before any weight is uploaded, from
// what is cheap to get: the device limits, the configs, and the weight files' headers. No single
// GPU binding may exceed min(maxStorageBufferBindingSize, maxBufferSize) (128 MiB on many
// devices), so what matters is the largest buffer a run cannot split. Browser-safe (the page's
// worker and the CLI share it); messages name tensors and sizes, never a front-end's options.
import { readModelConfigs, type ModelSource } from './load_pipeline.js';
import type { UNet2DConditionConfig } from '../unet/config.js';
import type { AutoencoderKLConfig } from '../vae/config.js';
import { loadComponentWeights, loadSingleFileWeights, type Weights } from '../weights/index.js';

/** A model or a request that does not fit this device (as opposed to a bug or a bad file). */
export class DeviceFitError extends Error {}

/** 1536 -> '1.5 kB', 3e6 -> '2.9 MB', 2.2e9 -> '2.1 GB' (binary units, as the device limits are) */
export function formatBytes(b: number): string {
  if (b < 2 ** 20) return `${(b / 1024).toFixed(b < 10 * 1024 ? 1 : 0)} kB`;
  if (b < 2 ** 30) return `${(b / 2 ** 20).toFixed(b < 10 * 2 ** 20 ? 1 : 0)} MB`;
  return `${(b / 2 ** 30).toFixed(1)} GB`;
}

/** The largest single buffer this device allows; `override` only lowers it (tests of the too-big path). */
export function bindingLimit(limits: Pick<GPUSupportedLimits, 'maxStorageBufferBindingSize' | 'maxBufferSize'>, override?: number | null): number {
  return Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize, override && override > 0 ? override : Infinity);
}

// ---- weights -------------------------------------------------------------------------------

/** The weight trees of a source, headers only (nothing is read or uploaded). The caller closes them. */
export async function weightTrees(source: ModelSource, dtype: 'f16' | 'f32'): Promise<Weights[]> {
  if (source.kind === 'single-file') {
    const sf = await loadSingleFileWeights(source.file);
    return [sf.text_encoder, sf.unet, sf.vae];
  }
  const trees: Weights[] = [];
  for (const comp of ['text_encoder', 'unet', 'vae'] as const) trees.push(await loadComponentWeights(source.files, comp, { preferFp16: dtype === 'f16' }));
  return trees;
}

/**
 * Total GPU bytes of the weights at `dtype`; throws DeviceFitError when a tensor exceeds `limit`
 * (the CLIP token embedding is exempt: it is gathered on the CPU). Closes the trees.
 */
export async function checkWeightsFit(trees: Weights[], limit: number, dtype: 'f16' | 'f32', hasF16: boolean): Promise<number> {
  const per = dtype === 'f16' ? 2 : 4;
  let total = 0;
  const over: string[] = [];
  for (const w of trees) {
    for (const k of w.keys()) {
      const bytes = w.tensorInfo(k).shape.reduce((a, b) => a * b, 1) * per;
      total += bytes;
      if (bytes > limit && !/token_embedding/.test(k)) over.push(`${k} (${formatBytes(bytes)})`);
    }
    await w.close();
  }
  if (over.length) {
    throw new DeviceFitError(`${over.length} weight tensor${over.length > 1 ? 's are' : ' is'} larger than the biggest GPU buffer ` +
      `this device allows (${formatBytes(limit)}): ${over.slice(0, 3).join(', ')}${over.length > 3 ? `, and ${over.length - 3} more` : ''}.` +
      (dtype === 'f32' && hasF16 ? ' f16 weights would halve them.' : ''));
  }
  return total;
}

// ---- activations ---------------------------------------------------------------------------

export interface FitConfigs { unet: UNet2DConditionConfig; vae: AutoencoderKLConfig }

/** The UNet and VAE configs of a source (two small JSON reads; SD 1.4's for a bare single file). */
export async function fitConfigs(source: ModelSource): Promise<FitConfigs> {
  // the loader's own reading (a folder's config.json files, or a single file's shapes + yaml)
  const c = await readModelConfigs(source, ['unet', 'vae']);
  return { unet: c.unet, vae: c.vae };
}

export interface RunShape {
  /** images in the batch */
  N: number;
  /** UNet batch per image: 2 with classifier-free guidance, x2 again for the fused schedule's pairs */
  unetBatchPerImage: number;
  /** output image size in pixels */
  H: number;
  W: number;
}

export interface Binding { bytes: number; what: string }

/** Smallest channel part of a VAE activation: C / k with k | groups and C / k even (channel_chunks.ts). */
function vaeMinChannels(C: number, groups: number): number {
  if (C % groups !== 0) return C;
  for (let k = groups; k >= 2; k--) if (groups % k === 0 && (C / k) % 2 === 0) return C / k;
  return C;
}

/**
 * The largest buffer the run needs that cannot be split further (f32 activations): the UNet's
 * skip concatenations (never split), the VAE's smallest channel chunk of one sample (it runs per
 * sample and per channel chunk when it must), its mid-block attention q/k/v, and the batch of
 * output images.
 */
export function largestBinding(cfg: FitConfigs, run: RunShape): Binding {
  const boc = cfg.unet.block_out_channels, L = boc.length, f = 2 ** (cfg.vae.blockOutChannels.length - 1);
  const B = run.N * run.unetBatchPerImage, h = run.H / f, w = run.W / f;
  let best: Binding = { bytes: 0, what: '' };
  const consider = (shape: number[], what: string) => {
    const bytes = shape.reduce((a, b) => a * b, 1) * 4;
    if (bytes > best.bytes) best = { bytes, what: `${what} [${shape.join(', ')}]` };
  };
  // UNet up blocks, diffusers numbering: block i works at level L-1-i; resnet inputs are concats
  const rev = [...boc].reverse();
  rev.forEach((out, i) => {
    const prev = rev[Math.max(i - 1, 0)]!, input = rev[Math.min(i + 1, L - 1)]!, s = 2 ** (L - 1 - i);
    const hs = Math.ceil(h / s), ws = Math.ceil(w / s);
    consider([B, Math.max(prev + out, out + input), hs, ws], 'UNet skip concatenation');
  });
  const vb = cfg.vae.blockOutChannels, g = cfg.vae.normNumGroups;
  vb.forEach((c, i) => {
    const s = 2 ** i;
    consider([1, vaeMinChannels(c, g), Math.ceil(run.H / s), Math.ceil(run.W / s)], 'VAE activation chunk');
  });
  consider([1, h * w, vb[vb.length - 1]!], 'VAE mid-block attention');
  consider([run.N, cfg.vae.outChannels, run.H, run.W], 'output images');
  return best;
}

/** The largest square image (side, a multiple of the VAE factor) whose largest binding fits `limit`; 0 if none. */
export function largestSquare(cfg: FitConfigs, run: Omit<RunShape, 'H' | 'W'>, limit: number): number {
  const f = 2 ** (cfg.vae.blockOutChannels.length - 1);
  let lo = 0, hi = 1 << 16;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (largestBinding(cfg, { ...run, H: mid * f, W: mid * f }).bytes <= limit) lo = mid; else hi = mid;
  }
  return lo * f;
}

export interface ActivationFit { ok: boolean; need: Binding; limit: number; maxSquare: number }

/** Whether a run of this shape fits; when not, the largest square image that would. */
export function activationFit(cfg: FitConfigs, run: RunShape, limit: number): ActivationFit {
  const need = largestBinding(cfg, run);
  return { ok: need.bytes <= limit, need, limit, maxSquare: need.bytes <= limit ? 0 : largestSquare(cfg, run, limit) };
}
