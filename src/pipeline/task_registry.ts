// The one task table: for each task its defaults, the inputs it needs, the limits of its settings,
// and validateRequest() returning problems named by request field. The CLI maps fields to its
// flags when printing (src/cli/flags.ts), the page renders its controls and messages from the
// same table, and SdPipeline.run() fills defaults and validates here — so each default and each
// rule is written once.
import type { PullBackVia } from '../sampler/constraints/pixel_linear.js';
import type { DownscaleKernel } from '../sampler/constraints/pixel_operators.js';
import type { InnerStopKind, Method, Schedule } from '../sampler/types.js';
import type { InpaintSpace, TaskName } from './tasks.js';

export type TaskId = TaskName | 'style';
export const TASK_IDS: readonly TaskId[] = ['generate', 'inpaint', 'superres', 'deblur', 'colorize', 'style'];

export type CfgForm = 'usual' | 'newton';

/** Every setting a request may leave out, with its default. */
export interface TaskDefaults {
  steps: number;
  /** inner steps per diffusion step: the count ('fixed'), or the cap ('auto') */
  K: number;
  /** 'auto': a request that gives no K runs K 'auto' (at most K); a request's own number is a fixed K */
  innerStop: InnerStopKind;
  /** constant, or [from, to] linear over the K inner steps */
  lr: number | [number, number];
  h: number;
  /** lr is given for this stride (SamplerSettings.lrStride): the step's rates scale by stride / lrStride; undefined: per step */
  lrStride?: number;
  schedule: Schedule;
  method: Method;
  /** classifier-free guidance scale s as the user gives it (1 = off) */
  guidance: number;
  cfgForm: CfgForm;
}

export interface TaskDefinition {
  id: TaskId;
  label: string;
  summary: string;
  /** the engine task it runs ('style' is generation with a style constraint) */
  runs: TaskName;
  needs: { image: boolean; mask: boolean; styleImage: 'required' | 'optional' | 'no'; size: boolean };
  defaults: TaskDefaults;
  /** task-specific defaults */
  extra: {
    scale?: number; downscaleKernel?: DownscaleKernel; blurSigma?: number; inpaintSpace?: InpaintSpace; keepKnown?: boolean;
    /** pixel-space constraints: the pixel error reaches latent space through the 'encoder' (finite difference) or the 'decoder' (VJP) */
    pullBack?: PullBackVia;
    /** weight of the style direction against the task's own constraint (both max-normalised) */
    styleWeight?: number;
  };
}

const base = { h: 0.005, schedule: 'exact' as Schedule, cfgForm: 'usual' as CfgForm, steps: 20, innerStop: 'fixed' as InnerStopKind };

// K and lr: method.md (the paper's settings: inpainting K 5, lr 0.5 -> 0.1; super-resolution and
// the other pixel-space tasks K 10, lr 0.1; style K 5, lr 0.5 -> 0.1 with CFG w = 2 in the method's
// form, i.e. the usual scale s = 3). Ours (issue 13, bench/RESULTS.md "Sweep", validation images
// 440..445): the pixel-space tasks give lr per stride 50 (the paper's 20 steps) and scale it with
// the stride, so the inner steps' total movement no longer doubles with 20 steps against 10 — that
// was why 20 steps did worse and tinted; lr 0.05 per stride 50 = the 0.1 per step that was best at
// 10 steps. Inpainting and style keep the paper's per-step lr (not yet swept over step counts).
// Super-resolution (ours, bench/RESULTS.md "Sweep: what it says", validation images 440..463): at
// the same total movement (K x lr per stride) fewer, longer inner steps fill better — K 2 with lr
// 0.25 per stride 50 beat K 10 by ~0.9 dB at 10 and 20 steps on 16 images, is no worse at 20 steps
// than at 10, and costs 5 evaluations a step instead of 21. Deblurring keeps K 10 (K 3 and 5 lost).
// Inpainting (ours, bench/RESULTS.md "Sweep", validation images 464..487): K auto per sample (at
// most the paper's 5) filled better than fixed K 3 and 5 at a third of the evaluations, and 10
// steps filled better than 20 with every K (the per-step lr moves twice as far in 20 steps) — so
// 10 steps, K auto. The N = 100 record on held-out images agrees (RESULTS "Quality").
// Super-resolution's and deblurring's pull-back (ours, RESULTS "Pull-back", validation images
// 448..463): the decoder's VJP D^T instead of the encoder's finite difference gave SR +1.0 / +1.4 dB
// and deblurring +0.5 / +0.9 dB at 10 / 20 steps, and made 20 steps better than 10 by ~0.45 dB for
// both — most of what the gradient baseline (dps) had over Newton. Colourisation: not measured.
// Deblurring's method (ours, RESULTS "Deblurring: why the Jacobian does not help here"): with the
// decoder pull-back the no-Jacobian step beat Newton on validation images 448..463 by 0.64 / 0.53 dB
// at 10 / 20 steps at half the UNet evaluations (and on the N = 100 record at 10 steps by 0.65 dB):
// the denoiser's Jacobian smooths away the detail deblurring has to restore. Newton stays one flag away.
export const TASKS: Record<TaskId, TaskDefinition> = {
  generate: {
    id: 'generate', label: 'Generate', summary: 'text-to-image with the DDIM scheduler', runs: 'generate',
    needs: { image: false, mask: false, styleImage: 'no', size: true },
    defaults: { ...base, K: 0, lr: 0.1, method: 'none', guidance: 7.5 }, extra: {},
  },
  inpaint: {
    id: 'inpaint', label: 'Inpaint', summary: 'fill the unknown region of an image, consistent with the rest', runs: 'inpaint',
    needs: { image: true, mask: true, styleImage: 'optional', size: false },
    defaults: { ...base, steps: 10, K: 5, innerStop: 'auto', lr: [0.5, 0.1], method: 'newton', guidance: 1 }, extra: { inpaintSpace: 'latent', keepKnown: true, styleWeight: 1 },
  },
  superres: {
    id: 'superres', label: 'Super-res', summary: 'super-resolve a low-resolution image', runs: 'superres',
    needs: { image: true, mask: false, styleImage: 'no', size: false },
    defaults: { ...base, K: 2, lr: 0.25, lrStride: 50, method: 'newton', guidance: 1 }, extra: { scale: 4, downscaleKernel: 'bicubic', keepKnown: true, pullBack: 'decoder' },
  },
  deblur: {
    id: 'deblur', label: 'Deblur', summary: 'recover a sharp image from a Gaussian-blurred one', runs: 'deblur',
    needs: { image: true, mask: false, styleImage: 'no', size: false },
    defaults: { ...base, K: 10, lr: 0.05, lrStride: 50, method: 'no-jacobian', guidance: 1 }, extra: { blurSigma: 2, keepKnown: true, pullBack: 'decoder' },
  },
  colorize: {
    id: 'colorize', label: 'Colorize', summary: 'colourise a grey-scale image (its luma is kept)', runs: 'colorize',
    needs: { image: true, mask: false, styleImage: 'no', size: false },
    defaults: { ...base, K: 10, lr: 0.05, lrStride: 50, method: 'newton', guidance: 1 }, extra: { keepKnown: true },
  },
  style: {
    id: 'style', label: 'Style', summary: 'generate from a prompt in the style of a reference image (CLIP)', runs: 'generate',
    needs: { image: false, mask: false, styleImage: 'required', size: true },
    defaults: { ...base, K: 5, lr: [0.5, 0.1], method: 'newton', guidance: 3 }, extra: { styleWeight: 1 },
  },
};

/** The K a request runs: its own (a number is a fixed K), else the task's default — 'auto' where the task's inner stop is. */
export function requestedK(task: TaskId, K: number | 'auto' | undefined): number | 'auto' {
  const d = TASKS[task].defaults;
  return K ?? (d.innerStop === 'auto' ? 'auto' : d.K);
}

/** Whether a task's constraint is in pixel space (a pixel error to pull back: superres, deblur, colorize, pixel-space inpainting). */
export function hasPixelConstraint(task: TaskId, inpaintSpace?: InpaintSpace): boolean {
  return task === 'superres' || task === 'deblur' || task === 'colorize' || (task === 'inpaint' && inpaintSpace === 'pixel');
}

/** The pull-back a request runs with: its own, else the task's default, else 'encoder'; undefined without a pixel-space constraint. */
export function pullBackFor(task: TaskId, inpaintSpace?: InpaintSpace, requested?: PullBackVia): PullBackVia | undefined {
  return hasPixelConstraint(task, inpaintSpace) ? requested ?? TASKS[task].extra.pullBack ?? 'encoder' : undefined;
}

/** Limits of the settings (inclusive unless said). */
export const LIMITS = {
  steps: [1, 1000], K: [0, 100], guidance: [0, 50], scale: [2, 16], blurSigmaMax: 20, feather: [0, 256], seed: [0, 0xfffffffe], count: [1, 64],
} as const;

/**
 * One thing wrong with a request: the request field, and what is wrong in words without CLI flags.
 * `template` is the message with every field it names written {field}, so a front-end can put
 * its own names there (the CLI its flags).
 */
export interface Problem { field: string; message: string; template: string }

/** The parts of a request validateRequest() looks at (SdPipeline's PipelineRequest has them all). */
export interface RequestFields {
  task: TaskId;
  steps?: number; K?: number | 'auto'; lr?: number | [number, number]; h?: number; method?: Method; schedule?: Schedule;
  guidance?: number; cfgForm?: CfgForm; seed?: number; count?: number;
  image?: { shape: readonly number[] }; mask?: { shape: readonly number[] };
  inpaintSpace?: InpaintSpace; feather?: number; scale?: number; blurSigma?: number; pullBack?: PullBackVia;
  width?: number; height?: number; styleImage?: { shape: readonly number[] }; styleWeight?: number;
}

const isInt = (v: number) => Number.isInteger(v);

/**
 * Everything wrong with a request before any GPU work, by field. `factor` is the VAE's
 * down-sampling factor (sizes must be multiples of it); `hasStyleModel`: CLIP weights are loaded.
 */
export function validateRequest(r: RequestFields, env: { factor: number; hasStyleModel?: boolean }): Problem[] {
  const def = TASKS[r.task];
  if (!def) {
    const message = `unknown task '${String(r.task)}' (one of ${TASK_IDS.join(', ')})`;
    return [{ field: 'task', message, template: message }];
  }
  const out: Problem[] = [];
  const bad = (field: string, template: string) => out.push({ field, template, message: template.replace(/\{(\w+)\}/g, '$1') });
  const d = def.defaults, f = env.factor;
  const method = r.method ?? d.method, steps = r.steps ?? d.steps, K = r.K === 'auto' ? d.K : r.K ?? d.K;
  const ddim = def.runs === 'generate' && method === 'none';
  if (!isInt(steps) || steps < LIMITS.steps[0] || steps > LIMITS.steps[1]) bad('steps', `{steps} must be an integer in 1..1000 (got ${steps})`);
  else if (!ddim && 1000 % steps !== 0) bad('steps', `{steps} must divide 1000 for the constrained sampler (got ${steps}); e.g. 10, 20, 25, 50`);
  if (!isInt(K) || K < LIMITS.K[0] || K > LIMITS.K[1]) bad('K', `{K} must be an integer in 0..100 or 'auto' (got ${K})`);
  else if (r.K === 'auto' && K < 1) bad('K', `{K} auto needs a task with inner steps (${r.task} has none)`);
  else if ((method === 'newton' || method === 'no-jacobian' || method === 'dps') && K < 1) bad('K', `{method} ${method} needs {K} >= 1`);
  // dps (issue 15): J^T d needs the UNet's VJP, which exists unguided, and the constraint's exact
  // latent gradient: latent inpainting's own, or a pixel constraint's through the VAE decoder's VJP
  // (src/vae/vjp). Style's Gram-loss gradient is pulled back through the encoder only: refused.
  if (method === 'dps') {
    const constrained = r.task === 'inpaint' || r.task === 'superres' || r.task === 'deblur' || r.task === 'colorize';
    if (r.styleImage) bad('method', '{method} dps cannot guide style (the style loss has no exact latent gradient: its pixel gradient is pulled back through the encoder, not the decoder VJP)');
    else if (!constrained) bad('method', `{method} dps needs a constraint to differentiate: inpaint, superres, deblur or colorize (got ${r.task})`);
    if ((r.guidance ?? d.guidance) !== 1) bad('guidance', '{method} dps runs without classifier-free guidance ({guidance} 1)');
  }
  const lr = r.lr ?? d.lr;
  if (!(Array.isArray(lr) ? lr.length === 2 && lr.every((v) => v > 0 && Number.isFinite(v)) : lr > 0 && Number.isFinite(lr))) {
    bad('lr', `{lr} must be a positive number or a [from, to] pair of them (got ${JSON.stringify(lr)})`);
  }
  const h = r.h ?? d.h;
  if (!(h > 0 && h < 1)) bad('h', `{h} must be a number in (0, 1) (got ${h})`);
  const g = r.guidance ?? d.guidance;
  if (!(g >= LIMITS.guidance[0] && g <= LIMITS.guidance[1])) bad('guidance', `{guidance} must be a number in 0..50 (got ${g})`);
  if (r.seed !== undefined && !(isInt(r.seed) && r.seed >= LIMITS.seed[0] && r.seed <= LIMITS.seed[1])) bad('seed', `{seed} must be an integer in 0..4294967294 (got ${r.seed})`);
  if (def.needs.size) {
    for (const k of ['width', 'height'] as const) {
      const v = r[k];
      if (v !== undefined && !(isInt(v) && v >= f && v % f === 0)) bad(k, `{${k}} must be a positive multiple of ${f} (got ${v})`);
    }
    if (r.count !== undefined && !(isInt(r.count) && r.count >= LIMITS.count[0] && r.count <= LIMITS.count[1])) bad('count', `{count} must be an integer in 1..64 (got ${r.count})`);
  }
  if (def.needs.image) {
    if (!r.image) bad('image', `${r.task} needs an input image`);
    else if (r.image.shape.length !== 4 || (r.task !== 'colorize' && r.image.shape[1] !== 3)) {
      bad('image', `the image must be [N, 3, H, W]${r.task === 'colorize' ? ' or grey [N, 1, H, W]' : ''} (got [${r.image.shape}])`);
    } else {
      const [, , H, W] = r.image.shape as number[];
      const s = r.task === 'superres' ? r.scale ?? def.extra.scale! : 1;
      if (r.task === 'superres' && !(isInt(s) && s >= LIMITS.scale[0] && s <= LIMITS.scale[1])) bad('scale', `{scale} must be an integer in 2..16 (got ${s})`);
      else if ((H! * s) % f || (W! * s) % f) bad('image', `the output size ${W! * s}x${H! * s} must be a multiple of ${f} (the VAE's down-sampling factor)`);
    }
  }
  if (r.task === 'deblur' && r.blurSigma !== undefined && !(r.blurSigma > 0 && r.blurSigma <= LIMITS.blurSigmaMax)) bad('blurSigma', `{blurSigma} must be a number in (0, 20] (got ${r.blurSigma})`);
  if (r.task === 'inpaint') {
    if (!r.mask) bad('mask', 'inpainting needs a mask (1 = known, 0 = fill)');
    else if (r.image && r.image.shape.length === 4) {
      const [N, , H, W] = r.image.shape as number[], [mn, mc, mh, mw] = r.mask.shape as number[];
      if (mc !== 1 || mh !== H || mw !== W) bad('mask', `the mask must be [N, 1, ${H}, ${W}] like the image (got [${r.mask.shape}])`);
      else if (mn !== N) bad('mask', `${mn} masks for ${N} images: give one mask per image`);
    }
    if (r.inpaintSpace !== undefined && r.inpaintSpace !== 'latent' && r.inpaintSpace !== 'pixel') bad('inpaintSpace', `{inpaintSpace} must be 'latent' or 'pixel' (got '${r.inpaintSpace}')`);
    if (r.inpaintSpace === 'pixel' && method === 'replace') bad('method', "{method} replace replaces known latent cells: it needs {inpaintSpace} latent");
    if (r.feather !== undefined && !(r.feather >= LIMITS.feather[0] && r.feather <= LIMITS.feather[1])) bad('feather', `{feather} must be a number of pixels in 0..256 (got ${r.feather})`);
  } else if (method === 'replace') {
    bad('method', '{method} replace is an inpainting baseline (it replaces known latent cells)');
  }
  if (r.pullBack !== undefined) {
    const pixel = hasPixelConstraint(r.task, r.inpaintSpace);
    if (r.pullBack !== 'encoder' && r.pullBack !== 'decoder') bad('pullBack', `{pullBack} must be 'encoder' or 'decoder' (got '${String(r.pullBack)}')`);
    else if (!pixel) bad('pullBack', `{pullBack} applies to pixel-space constraints: superres, deblur, colorize, inpaint with {inpaintSpace} pixel (got ${r.task}${r.task === 'inpaint' ? ' in latent space' : ''})`);
  }
  const style = def.needs.styleImage;
  if (style === 'required' && !r.styleImage) bad('styleImage', 'style needs a style reference image');
  if (r.styleImage) {
    if (style === 'no') bad('styleImage', `${r.task} takes no style reference`);
    if (!env.hasStyleModel) bad('styleImage', 'style guidance needs CLIP ViT-B/16 vision weights, and none are loaded (no CLIP weights ship with Tether)');
    if (method === 'none' || method === 'replace') bad('method', `style guidance needs {method} newton or no-jacobian (got ${method})`);
    if (r.styleWeight !== undefined && !(r.styleWeight > 0 && Number.isFinite(r.styleWeight))) bad('styleWeight', `{styleWeight} must be a positive number (got ${r.styleWeight})`);
    if (r.styleImage.shape.length !== 4 || r.styleImage.shape[1] !== 3) bad('styleImage', `the style image must be RGB [N, 3, H, W] (got [${r.styleImage.shape}])`);
  }
  return out;
}

/** Throws one error listing every problem (library callers); front-ends print them their own way. */
export function assertValid(r: RequestFields, env: { factor: number; hasStyleModel?: boolean }): void {
  const problems = validateRequest(r, env);
  if (problems.length) throw new RequestError(problems);
}

export class RequestError extends Error {
  constructor(readonly problems: Problem[]) {
    super(problems.map((p) => p.message).join('; '));
    this.name = 'RequestError';
  }
}
