// SdPipeline: the library's one entry point. open() does everything that happens once per model —
// the GPU context, the weight-dtype rule, the device-fit check, loading (with byte progress), the
// tokenizer — and run() turns a request into images: defaults from the task table, validation by
// field, kernel variants chosen before sampling and frozen during it (tasks.ts), and a record of
// the parameters that reproduce the run. Browser-safe; src/node.ts adds path loading.
//   const pipe = await SdPipeline.open(files, { onProgress: (p) => console.log(p.file, p.progress) });
//   const { images } = await pipe.run({ task: 'inpaint', image, mask, seed: 1 });
//   pipe.destroy();
import type { GpuContext } from '../gpu/context.js';
import { adapterName, createGpuContext } from '../gpu/device.js';
import type { DType } from '../gpu/tensor.js';
import { loadPipeline, resolveWeightDtype, type ModelSource, type StableDiffusionModel } from './load_pipeline.js';
import type { ClipStyleLoss } from '../clip_vision/style_loss.js';
import type { PullBackVia } from '../sampler/constraints/pixel_linear.js';
import type { DownscaleKernel } from '../sampler/constraints/pixel_operators.js';
import type { Method, Progress, Schedule } from '../sampler/types.js';
import type { Guidance } from '../sampler/guidance.js';
import { seededNoise, type NoiseSource } from '../sampler/noise.js';
import type { Tracer } from '../sampler/tracer.js';
import type { ByteSource } from '../weights/byte_source.js';
import type { ModelFiles } from '../weights/model_source.js';
import { TETHER_VERSION } from '../version.js';
import { bindingLimit, checkWeightsFit, weightTrees } from './device_fit.js';
import { progressModelSource, type LoadProgress } from './load_progress.js';
import { assertValid, pullBackFor, requestedK, TASKS, type CfgForm, type TaskId } from './task_registry.js';
import { taskModels } from './task_models.js';
import { runTask, type ImageData4, type InpaintSpace, type TaskModels, type TaskRequest } from './tasks.js';

export { taskModels } from './task_models.js';
export type { LoadProgress } from './load_progress.js';

/** Where a model comes from: a diffusers folder's files, a single-file checkpoint, or a ModelSource. */
export type PipelineSource = ModelFiles | ByteSource | ModelSource;

export interface OpenOptions {
  /** an existing context (shared with other pipelines); default: a new one on `gpu` */
  ctx?: GpuContext;
  /** default: navigator.gpu */
  gpu?: GPU;
  /** GPU weight storage; 'auto' (default): f16 on hardware adapters with shader-f16, else f32 */
  weightDtype?: 'auto' | 'f16' | 'f32';
  /** for a single file: a diffusers folder whose configs and tokenizer to use */
  config?: ModelFiles;
  /** bytes read per file and in all (transformers.js' progress_callback convention) */
  onProgress?: (p: LoadProgress) => void;
  /** a variant table saved by variantTable() (kernel choices; the same table repeats runs bit for bit) */
  variantTable?: unknown;
}

/** A request in the task table's terms: everything but `task` has a default (task_registry.ts). */
export interface PipelineRequest {
  task: TaskId;
  prompt?: string;
  negativePrompt?: string;
  /** classifier-free guidance scale as the user gives it (1 = off) */
  guidance?: number;
  /** 'usual': eps_u + s (eps_c - eps_u); 'newton': (1 + w) eps_c - w eps_u with w = s - 1 */
  cfgForm?: CfgForm;
  /** K: inner steps per diffusion step (a number: exactly that many), or 'auto' (stop when the residual stops improving, at most the task's K); left out: the task's default (inpainting's is 'auto') */
  steps?: number; K?: number | 'auto'; lr?: number | [number, number]; h?: number; schedule?: Schedule; method?: Method;
  /** the stride lr is given for (rates scale by stride / lrStride; 'none': per step, the paper's); default: the task table's */
  lrStride?: number | 'none';
  /** K 'auto': relative residual improvement per unit of the inner step's learning rate below which the inner steps stop (default inner/stopping.ts AUTO_K_TOL) */
  autoTol?: number;
  /** seed of image 0 (image i uses seed + 2i, docs/noise.md); or a NoiseSource; default: random */
  seed?: number;
  noise?: NoiseSource;
  image?: ImageData4; mask?: ImageData4; inpaintSpace?: InpaintSpace; keepKnown?: boolean; feather?: number;
  /** pixel-space constraints: 'encoder' (finite difference, forward-only) or 'decoder' (the VAE decoder's VJP); default: the task table's */
  pullBack?: PullBackVia;
  scale?: number; downscaleKernel?: DownscaleKernel; blurSigma?: number;
  width?: number; height?: number; count?: number;
  /** style guidance: the reference image and the CLIP style loss of a loaded tower */
  styleImage?: ImageData4; styleLoss?: ClipStyleLoss; styleWeight?: number;
  trace?: Tracer;
}

export interface RunOptions { onProgress?: (p: Progress) => void | Promise<void>; signal?: AbortSignal }

export interface PipelineResult {
  /** [N, 3, H, W] in [-1, 1] */
  images: ImageData4;
  /** with keepKnown (the default): the decoded result before the known pixels were pasted back (inpainting) or it was projected onto the observation (superres, deblur, colorize) */
  rawImages?: ImageData4;
  latent: Float32Array;
  evals: number;
  seconds: number;
  /** everything that reproduces the run (defaults filled in), for metadata */
  parameters: Record<string, unknown>;
}

export class SdPipeline {
  /** the loaded models as the tasks see them (benches use them directly; not part of the stable API) */
  readonly models: TaskModels;

  private constructor(readonly ctx: GpuContext, readonly model: StableDiffusionModel, private readonly ownsCtx: boolean) {
    this.models = taskModels(ctx, model);
  }

  static async open(source: PipelineSource, opts: OpenOptions = {}): Promise<SdPipeline> {
    const ctx = opts.ctx ?? await createGpuContext(opts.gpu ?? (globalThis.navigator as Navigator | undefined)?.gpu);
    try {
      if (opts.variantTable) ctx.variants.load(opts.variantTable);
      const plain = toModelSource(source, opts.config);
      // every weight tensor against the device's per-buffer limit, from the headers, before any upload
      const dtype = resolveWeightDtype(ctx, opts.weightDtype ?? 'auto');
      // (the check closes what it opens: a single file is lent without its close, as the load reads it next)
      const headers: ModelSource = plain.kind === 'single-file'
        ? { ...plain, file: { name: plain.file.name, size: plain.file.size, read: (o, n) => plain.file.read(o, n) } } : plain;
      await checkWeightsFit(await weightTrees(headers, dtype), bindingLimit(ctx.limits), dtype, ctx.hasF16);
      const src = progressModelSource(plain, opts.onProgress);
      const model = await loadPipeline(ctx, src, { weightDtype: dtype });
      opts.onProgress?.({ status: 'ready', file: '', loaded: 0, total: 0, progress: 100 });
      return new SdPipeline(ctx, model, !opts.ctx);
    } catch (e) {
      if (!opts.ctx) ctx.device.destroy();
      throw e;
    }
  }

  get name(): string { return this.model.name; }
  get weightDtype(): DType { return this.model.weightDtype; }
  get adapter(): string { return adapterName(this.ctx.adapter); }
  /** the VAE's down-sampling factor: image sizes are multiples of it */
  get factor(): number { return this.models.codec.factor; }
  /** the model's native image size in pixels */
  get nativeSize(): number { return (this.model.configs.unet.sample_size ?? 64) * this.factor; }

  /** The request with every default filled in, validated (throws RequestError listing each problem by field). */
  resolve(req: PipelineRequest): Required<Pick<PipelineRequest, 'steps' | 'K' | 'lr' | 'h' | 'schedule' | 'method' | 'guidance' | 'cfgForm'>> & PipelineRequest {
    const def = TASKS[req.task];
    assertValid(req, { factor: this.factor, hasStyleModel: Boolean(req.styleLoss) });
    const r = { ...def.defaults, ...def.extra, ...stripUndefined(req) };
    r.K = requestedK(req.task, req.K);                                   // inpainting's default K is 'auto'
    if (def.needs.size) { r.width ??= this.nativeSize; r.height ??= this.nativeSize; }
    r.seed ??= r.noise ? undefined : Math.floor(Math.random() * 2 ** 31);
    return r as ReturnType<SdPipeline['resolve']>;
  }

  async run(req: PipelineRequest, opts: RunOptions = {}): Promise<PipelineResult> {
    const r = this.resolve(req);
    const def = TASKS[r.task];
    const N = r.image?.shape[0] ?? r.count ?? 1;
    const guidance: Guidance | null = r.guidance === 1 ? null
      : r.cfgForm === 'newton' ? { form: 'newton', scale: r.guidance - 1 } : { form: 'diffusers', scale: r.guidance };
    const taskReq: TaskRequest = {
      task: def.runs, prompt: r.prompt, negativePrompt: r.negativePrompt, guidance,
      settings: {
        steps: r.steps, K: r.K === 'auto' ? def.defaults.K : r.K, lr: r.lr, h: r.h, schedule: r.schedule, method: r.method,
        lrStride: r.lrStride === 'none' ? undefined : r.lrStride ?? def.defaults.lrStride,
        innerStop: r.K === 'auto' ? 'auto' : 'fixed', autoTol: r.autoTol,
      },
      noise: r.noise ?? seededNoise(Array.from({ length: N }, (_, i) => r.seed! + 2 * i)),
      image: r.image, mask: r.mask, inpaintSpace: r.inpaintSpace, keepKnown: r.keepKnown, feather: r.feather, pullBack: r.pullBack,
      scale: r.scale, downscaleKernel: r.downscaleKernel, blurSigma: r.blurSigma,
      width: r.width, height: r.height, count: r.count,
      style: r.styleImage && r.styleLoss ? { loss: r.styleLoss, image: r.styleImage, weight: r.styleWeight } : undefined,
      trace: r.trace, onProgress: opts.onProgress, signal: opts.signal,
    };
    const res = await runTask(this.ctx, this.models, taskReq);
    const [, , H, W] = res.image.shape;
    const pullBack = pullBackFor(r.task, r.inpaintSpace, r.pullBack);
    const parameters: Record<string, unknown> = {
      task: r.task, prompt: r.prompt ?? '', negative_prompt: r.negativePrompt ?? '', seed: r.noise ? null : r.seed,
      steps: r.steps, K: r.K, lr: r.lr, lr_stride: r.lrStride ?? def.defaults.lrStride ?? 'none', h: r.h, schedule: r.schedule, method: r.method, guidance: r.guidance, cfg_form: r.cfgForm,
      width: W, height: H, count: res.image.shape[0],
      ...(r.task === 'inpaint' ? { inpaint_space: r.inpaintSpace, keep_known: r.keepKnown, feather: r.feather ?? this.factor } : {}),
      ...(r.task === 'superres' || r.task === 'deblur' || r.task === 'colorize' ? { keep_observed: r.keepKnown } : {}),
      ...(pullBack ? { pull_back: pullBack } : {}),
      ...(r.task === 'superres' ? { scale: r.scale, kernel: r.downscaleKernel } : {}),
      ...(r.task === 'deblur' ? { sigma: r.blurSigma } : {}),
      ...(r.styleImage ? { style_weight: r.styleWeight } : {}),
      model: this.name, weight_dtype: this.weightDtype, adapter: this.adapter, variants: res.variants, software: `tether-sd ${TETHER_VERSION}`,
    };
    return { images: res.image, rawImages: res.rawImage, latent: res.latent, evals: res.evals, seconds: res.seconds, parameters };
  }

  /** The kernel-variant table (JSON): save it and pass it to open() to repeat runs bit for bit. */
  variantTable(): unknown {
    return this.ctx.variants.toJSON();
  }

  /** Frees the weights (and the device, when open() created it). */
  destroy(): void {
    this.model.destroy(this.ctx);
    if (this.ownsCtx) this.ctx.device.destroy();
  }
}

function isModelSource(s: PipelineSource): s is ModelSource {
  return typeof (s as ModelSource).kind === 'string' && ((s as ModelSource).kind === 'diffusers' || (s as ModelSource).kind === 'single-file');
}

function toModelSource(s: PipelineSource, config?: ModelFiles): ModelSource {
  if (isModelSource(s)) return s;
  if (typeof (s as ByteSource).read === 'function' && typeof (s as ByteSource).size === 'number') return { kind: 'single-file', file: s as ByteSource, config };
  return { kind: 'diffusers', files: s as ModelFiles };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
