// Checks of a task run that need the model's configs and the device limits but no weights:
// the output size (--width/--height, or the input times --scale), and whether the run's largest
// buffer and every weight tensor fit this device. All of it runs before the weights load, so an
// impossible request fails in a second instead of after minutes of loading.
import type { GpuContext } from '../gpu/context.js';
import { nodeModelSource } from '../pipeline/load_pipeline_node.js';
import {
  activationFit, bindingLimit, checkWeightsFit, DeviceFitError, fitConfigs, formatBytes, weightTrees, type FitConfigs,
} from '../pipeline/device_fit.js';

export interface RunPlan {
  task: string;
  /** images in the batch (the input's N, else 1) */
  N: number;
  /** input image [H, W] (tasks with -i), or undefined */
  input?: [number, number];
  scale?: number;
  width?: string;
  height?: string;
  guided: boolean;
  /** the fused schedule sends each finite-difference pair as a batch of two */
  pairs: boolean;
  dtype: 'f16' | 'f32';
}

export interface PlannedSize { width: number; height: number; factor: number; configs: FitConfigs }

/** The output size of the run, validated against the VAE factor, and the configs it used. */
export async function plannedSize(modelPath: string, configDir: string | undefined, p: RunPlan): Promise<PlannedSize> {
  const source = await nodeModelSource(modelPath, configDir);
  try {
    const configs = await fitConfigs(source);
    const f = 2 ** (configs.vae.blockOutChannels.length - 1);
    if (p.input) {
      const [h, w] = p.input, s = p.scale ?? 1;
      if (p.scale && ((h * s) % f || (w * s) % f)) throw new Error(`input ${w}x${h} times --scale ${s} must be a multiple of ${f}`);
      return { width: w * s, height: h * s, factor: f, configs };
    }
    const native = (configs.unet.sample_size ?? 64) * f;
    const size = (flag: string, v: string | undefined) => {
      const x = v === undefined ? native : Number(v);
      if (!Number.isInteger(x) || x < f || x % f) throw new Error(`${flag} must be a positive multiple of ${f} (got ${v})`);
      return x;
    };
    return { width: size('--width', p.width), height: size('--height', p.height), factor: f, configs };
  } finally {
    if (source.kind === 'single-file') await source.file.close?.()?.catch?.(() => undefined);
  }
}

/** Throws, in the user's terms, when the run cannot fit this device; checks weight headers too. */
export async function checkRunFits(ctx: GpuContext, modelPath: string, configDir: string | undefined, p: RunPlan, size: PlannedSize): Promise<void> {
  const limit = bindingLimit(ctx.limits);
  const fit = activationFit(size.configs, { N: p.N, unetBatchPerImage: (p.guided ? 2 : 1) * (p.pairs ? 2 : 1), H: size.height, W: size.width }, limit);
  if (!fit.ok) {
    const what = p.input
      ? `-i/--image ${p.input[1]}x${p.input[0]}${p.scale ? ` x --scale ${p.scale} (a ${size.width}x${size.height} output)` : ''}`
      : `--width ${size.width} x --height ${size.height}`;
    const batch = p.N > 1 ? ` for ${p.N} images` : '';
    throw new DeviceFitError(`${what}${batch} needs a ${formatBytes(fit.need.bytes)} buffer (${fit.need.what}); this device allows ` +
      `${formatBytes(limit)} per buffer: at most ~${fit.maxSquare}x${fit.maxSquare}${batch} for this model` +
      (p.input ? '' : p.guided || p.pairs ? ' with these settings' : ''));
  }
  const source = await nodeModelSource(modelPath, configDir);
  try {
    await checkWeightsFit(await weightTrees(source, p.dtype), limit, p.dtype, ctx.hasF16);
  } catch (e) {
    if (e instanceof DeviceFitError) throw new DeviceFitError(`--model ${modelPath}: ${e.message}${/f16 weights/.test(e.message) ? ' (--dtype f16)' : ''}`);
    throw e;
  } finally {
    if (source.kind === 'single-file') await source.file.close?.()?.catch?.(() => undefined);
  }
}
