// A task end to end: observation in, image out. Builds the task's constraint (inpainting in
// latent space; super-resolution, deblurring, colourisation as pixel-space linear operators
// pulled back through the encoder), runs the constrained sampler, decodes the result.
import type { GpuContext } from '../gpu/context.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { mul } from '../kernels/elementwise.js';
import { sampleConstrained } from '../sampler/constrained_sampler.js';
import type { Denoise, DenoiseVjp, Progress, SamplerSettings } from '../sampler/types.js';

/** u [B, 4, h, w] -> J_eps^T u at (x, t, context) */
export type NoiseModelVjp = (x: GpuTensor, t: number, context: GpuTensor, u: GpuTensor) => Promise<GpuTensor>;
import type { Constraint } from '../sampler/constraints/constraint.js';
import { InpaintConstraint, latentMask } from '../sampler/constraints/inpaint.js';
import type { LatentCodec } from '../sampler/constraints/latent_codec.js';
import { PixelLinearConstraint, type PullBackVia } from '../sampler/constraints/pixel_linear.js';
import {
  blurSpec, downscaleSpec, GREY_SPEC, MaskOperator, separableOperator, type DownscaleKernel, type OperatorAxes, type OperatorSpec, type PixelOperator,
} from '../sampler/constraints/pixel_operators.js';
import { sampleDdim } from '../sampler/ddim_sampler.js';
import { makeDenoise, type Guidance, type NoiseModel } from '../sampler/guidance.js';
import { concat0 } from '../kernels/tensor_ops.js';
import type { NoiseSource } from '../sampler/noise.js';
import { Tracer } from '../sampler/tracer.js';
import { withStyle, type StyleRequest } from './style_task.js';
import { keepKnown } from './keep_known.js';
import { KEEP_OBSERVED_ITERATIONS, keepObserved, observe } from './keep_observed.js';
import { prepareVariants } from './variant_warmup.js';

export type TaskName = 'generate' | 'inpaint' | 'superres' | 'deblur' | 'colorize';
export type InpaintSpace = 'latent' | 'pixel';

/** What a pipeline exposes to tasks (implemented over the loaded models in sd_pipeline.ts). */
export interface TaskModels {
  /** names the model and its weight dtype (part of a run's variant signature) */
  readonly id?: string;
  readonly codec: LatentCodec;
  readonly latentChannels: number;
  readonly noiseModel: NoiseModel;
  /** J_eps^T u w.r.t. x (the UNet's VJP), for method 'dps' */
  readonly noiseModelVjp?: NoiseModelVjp;
  /** prompts -> [B, 77, C] embeddings */
  encodePrompts(ctx: GpuContext, prompts: string[]): Promise<GpuTensor>;
}

/** A pixel image batch, [N, C, H, W] float32 in [-1, 1]. */
export interface ImageData4 { data: Float32Array; shape: [number, number, number, number] }

export interface TaskRequest {
  task: TaskName;
  prompt?: string;
  negativePrompt?: string;
  guidance?: Guidance | null;
  settings: SamplerSettings;
  noise: NoiseSource;
  /** inpaint: the image; superres: the LOW-resolution observation; deblur: the blurred image; colorize: the image (made grey) or a grey [N,1,H,W] */
  image?: ImageData4;
  /** inpaint: [N, 1, H, W], 1 = known */
  mask?: ImageData4;
  /**
   * inpaint: 'latent' (the paper's: d = M_lat (z_y - x0) on latent cells whose whole patch is
   * known) or 'pixel' (A = M in pixel space, pulled back through the encoder like the other pixel
   * constraints: every known pixel counts; one decode and a batch-of-two encode per direction)
   */
  inpaintSpace?: InpaintSpace;
  /**
   * Pixel-space constraints: how the pixel error A^T (y - A(D(x0))) becomes a latent direction —
   * 'encoder' (default; method.md decision 1: the encoder's finite difference, forward-only) or
   * 'decoder' (D^T by the VAE decoder's VJP; the UNet stays forward-only)
   */
  pullBack?: PullBackVia;
  /** superres factor (4 or 8, any integer) */
  scale?: number;
  downscaleKernel?: DownscaleKernel;
  /** deblur: Gaussian sigma in pixels */
  blurSigma?: number;
  /** generate: how many images (default 1) */
  count?: number;
  /** generate: output size in pixels */
  width?: number;
  height?: number;
  /** a user-supplied operator: constrained(A, y) */
  operator?: { op: PixelOperator; y: GpuTensor; outHeight: number; outWidth: number };
  trace?: Tracer;
  onProgress?: (p: Progress) => void | Promise<void>;
  signal?: AbortSignal;
  /** style guidance (CLIP Gram loss) on top of the task, or alone with 'generate' */
  style?: StyleRequest;
  /**
   * Keep what the input says (default on). inpaint: paste the known pixels back after decoding,
   * with the seam feathered over `feather` pixels into the hole (keep_known.ts), feather = the VAE's
   * down-sampling factor by default. superres / deblur / colorize: move the decoded result by the
   * smallest correction that makes A(result) = the input (keep_observed.ts).
   */
  keepKnown?: boolean;
  feather?: number;
}

export interface TaskResult {
  image: ImageData4; latent: Float32Array; evals: number; calls: number;
  /** the run itself (after kernel variants were chosen) */
  seconds: number;
  /** with keepKnown: the decoded result before the known pixels were pasted back / it was projected onto the observation */
  rawImage?: ImageData4;
  /** hash of the kernel-variant entries the run used: runs with equal hashes, seeds and inputs are bit-identical */
  variants: string;
}

/**
 * Runs a task. Kernel variants are chosen first (variant_warmup.ts) and the variant table stays
 * frozen for the whole run, so the same seed, model, adapter and table give the same bits.
 */
export async function runTask(ctx: GpuContext, m: TaskModels, req: TaskRequest): Promise<TaskResult> {
  await prepareVariants(ctx, m, req, (r) => runFrozen(ctx, m, r));
  ctx.variants.beginRun();
  const result = await ctx.variants.frozenWhile(() => runFrozen(ctx, m, req));
  if (req.task === 'inpaint' && req.keepKnown !== false && req.mask && req.image) {
    const feather = req.feather ?? m.codec.factor;   // measured: bench/RESULTS.md 'Keeping known pixels'
    const image = keepKnown(result.image.data, req.image.data, req.mask.data, result.image.shape, { feather });
    return { ...result, rawImage: result.image, image: { data: image, shape: result.image.shape } };
  }
  const observed = req.keepKnown !== false ? observedBy(req, result.image.shape) : null;
  if (observed) {
    const { image } = keepObserved(result.image.data, observed.y, result.image.shape, observed.axes, { iterations: KEEP_OBSERVED_ITERATIONS });
    return { ...result, rawImage: result.image, image: { data: image, shape: result.image.shape } };
  }
  return result;
}

/**
 * The observation operator of super-resolution, deblurring and colourisation with the task's
 * defaults: the one source of both the sampler's constraint (on the GPU, buildConstraint) and the
 * projection of the result onto the observation (on the host, keep_observed.ts).
 */
function observationOf(req: TaskRequest, H: number, W: number): OperatorSpec | null {
  switch (req.task) {
    case 'superres': return downscaleSpec(H, W, req.scale ?? 4, req.downscaleKernel ?? 'bicubic');
    case 'deblur': return blurSpec(H, W, req.blurSigma ?? 2);
    case 'colorize': return GREY_SPEC;
    default: return null;
  }
}

/** The observation as host matrices and y (keep_observed.ts); a colour image for colorize is made grey. */
function observedBy(req: TaskRequest, shape: readonly [number, number, number, number]): { axes: OperatorAxes; y: Float32Array } | null {
  const [, , H, W] = shape, img = req.image, spec = observationOf(req, H, W);
  if (!img || req.operator || !spec) return null;
  const grey = req.task === 'colorize' && img.shape[1] === 3;
  return { axes: spec.axes, y: grey ? observe(img.data, img.shape, spec.axes).data : img.data };
}

async function runFrozen(ctx: GpuContext, m: TaskModels, req: TaskRequest): Promise<TaskResult> {
  const started = Date.now();
  const f = m.codec.factor;
  const { outH, outW, N } = outputSize(req, f);
  const latentShape = [N, m.latentChannels, outH / f, outW / f];

  // 1. prompt embeddings and the noise model (with classifier-free guidance when asked)
  const cond = await m.encodePrompts(ctx, [req.prompt ?? '']);
  const wantsCfg = req.guidance && !(req.guidance.form === 'newton' ? req.guidance.scale === 0 : req.guidance.scale === 1);
  const uncond = wantsCfg ? await m.encodePrompts(ctx, [req.negativePrompt ?? '']) : null;
  const denoise = makeDenoise(ctx, m.noiseModel, cond, uncond, wantsCfg ? req.guidance! : null);
  // method 'dps' (unguided only; validateRequest refuses it with guidance): the context repeated per sample
  const vjp = m.noiseModelVjp;
  const denoiseVjp: DenoiseVjp | undefined = vjp && !wantsCfg ? async (x, t, u) => ctx.scope(async () => {
    const B = x.shape[0];
    return vjp(x, t, B === 1 ? cond : concat0(ctx, Array<GpuTensor>(B).fill(cond)), u);
  }) : undefined;

  // 2. the constraint
  const constraint = await withStyle(ctx, m, req, await buildConstraint(ctx, m, req, outH, outW));
  try {
    // 3. sample
    let latent: GpuTensor, evals: number, calls: number;
    // tracing observes and never steers: plain generation is diffusers' DDIM with or without it
    if (req.task === 'generate' && req.settings.method === 'none') {
      ({ latent, evals, calls } = await sampleDdim(ctx, denoise, req.noise, latentShape, req.settings.steps,
        { onProgress: req.onProgress, signal: req.signal, trace: req.trace }));
    } else {
      ({ latent, evals, calls } = await sampleConstrained(ctx, {
        denoise, denoiseVjp, constraint, noise: req.noise, latentShape, settings: req.settings,
        trace: req.trace, onProgress: req.onProgress, signal: req.signal,
      }));
    }
    // 4. decode
    req.signal?.throwIfAborted();
    const img = await m.codec.decode(ctx, latent);
    await req.trace?.tensor('result_image', img);
    const result: TaskResult = {
      image: { data: await ctx.read(img), shape: img.shape as [number, number, number, number] },
      latent: await ctx.read(latent), evals, calls, seconds: (Date.now() - started) / 1000, variants: ctx.variants.usedHash(),
    };
    ctx.release(img, latent);
    return result;
  } finally {
    constraint?.destroy?.(ctx);
    denoise.dispose();
    ctx.release(cond, uncond ?? undefined);
  }
}

function outputSize(req: TaskRequest, f: number): { outH: number; outW: number; N: number } {
  let outH: number, outW: number, N = 1;
  if (req.task === 'generate' && !req.operator) {
    outH = req.height ?? 512; outW = req.width ?? 512; N = req.count ?? 1;
  } else if (req.operator) {
    outH = req.operator.outHeight; outW = req.operator.outWidth; N = req.operator.y.shape[0];
  } else {
    if (!req.image) throw new Error(`${req.task} needs an input image`);
    [N, , outH, outW] = req.image.shape;
    if (req.task === 'superres') {
      const s = req.scale ?? 4;
      if (!Number.isInteger(s) || s < 2) throw new Error(`scale must be an integer >= 2 (got ${s})`);
      outH *= s; outW *= s;
    }
  }
  if (outH % f || outW % f) throw new Error(`output size ${outW}x${outH} must be a multiple of ${f} (the VAE's down-sampling factor)`);
  return { outH, outW, N };
}

async function buildConstraint(ctx: GpuContext, m: TaskModels, req: TaskRequest, H: number, W: number): Promise<Constraint | undefined> {
  const h = req.settings.h;
  switch (req.task) {
    case 'generate':
      return req.operator ? new PixelLinearConstraint('user-operator', req.operator.op, req.operator.y, m.codec, h, req.pullBack) : undefined;
    case 'inpaint': {
      const img = req.image!, mask = req.mask;
      if (!mask) throw new Error('inpaint needs a mask');
      const space = req.inpaintSpace ?? 'latent';
      if (space !== 'latent' && space !== 'pixel') throw new Error(`inpaint space must be 'latent' or 'pixel' (got '${space}')`);
      const [N, , mh, mw] = mask.shape;
      if (mh !== H || mw !== W || mask.shape[1] !== 1 || N !== img.shape[0]) {
        throw new Error(`the mask is [${mask.shape}] but the image is [${img.shape}]: give one [1, ${H}, ${W}] mask per image`);
      }
      const C = img.shape[1];
      const mask3 = new Float32Array(img.data.length);                  // M copied to every channel
      for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) mask3.set(mask.data.subarray(n * H * W, (n + 1) * H * W), (n * C + c) * H * W);
      const image = ctx.upload(img.data, img.shape);
      const maskT = ctx.upload(mask3, img.shape);
      const known = mul(ctx, image, maskT);                             // image * M
      if (space === 'pixel') {
        ctx.release(image);
        return new PixelLinearConstraint('inpaint-pixel', new MaskOperator(maskT), known, m.codec, h, req.pullBack);
      }
      const zY = await m.codec.encode(ctx, known);                      // 0.18215 * E(image * M)
      const ml = latentMask(mask.data, N, H, W, m.codec.factor, m.latentChannels);
      ctx.release(image, maskT, known);
      return new InpaintConstraint(zY, ctx.upload(ml, [N, m.latentChannels, H / m.codec.factor, W / m.codec.factor]));
    }
    case 'superres':
    case 'deblur':
    case 'colorize': {
      const op = separableOperator(ctx, observationOf(req, H, W)!);
      let y = ctx.upload(req.image!.data, req.image!.shape);
      if (req.task === 'colorize' && req.image!.shape[1] === 3) { const grey = op.forward(ctx, y); ctx.release(y); y = grey; }
      return new PixelLinearConstraint(op.name, op, y, m.codec, h, req.pullBack);
    }
  }
}
