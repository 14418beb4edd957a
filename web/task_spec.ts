// What the page asks the engine to do, as plain data (it crosses the worker boundary and is kept
// on window for the end-to-end test), and its one translation into the engine's TaskRequest.
// The browser worker and the Node side of the test both call toTaskRequest(), so "same seed,
// same inputs" means the same TaskRequest on both sides. The CLIP model of a style spec is not
// data: the caller (the worker, or the test's Node side) passes its ClipStyleLoss in.
import type { ClipStyleLoss } from '../src/clip_vision/style_loss.js';
import type { ImageData4, InpaintSpace, TaskName, TaskRequest } from '../src/pipeline/tasks.js';
import type { Method, SamplerSettings, Schedule } from '../src/sampler/constrained_sampler.js';
import type { Guidance } from '../src/sampler/guidance.js';
import { seededNoise } from '../src/sampler/noise.js';

/** The library's tasks, plus 'style' (generate guided by a reference image's CLIP style, as `tether style`). */
export type WebTask = Extract<TaskName, 'generate' | 'inpaint' | 'superres' | 'deblur' | 'colorize'> | 'style';

export interface TaskSpec {
  task: WebTask;
  prompt: string;
  negativePrompt: string;
  /** classifier-free guidance scale s (diffusers form: eps_u + s (eps_c - eps_u)); 1 = off */
  guidance: number;
  steps: number;
  K: number;
  /** constant, or [from, to] linear over the K inner steps */
  lr: number | [number, number];
  h: number;
  schedule: Schedule;
  method: Method;
  seed: number;
  /** inpaint / deblur / colorize: the image; superres: the LOW-resolution observation. [1, 3, H, W] in [-1, 1] */
  image?: ImageData4;
  /** inpaint: [1, 1, H, W], 1 = known (keep), 0 = fill */
  mask?: ImageData4;
  /** superres factor */
  scale?: number;
  /** deblur: Gaussian sigma in pixels */
  blurSigma?: number;
  /** inpaint: 'latent' (the paper's constraint, default) or 'pixel' (every known pixel, through the encoder) */
  inpaintSpace?: InpaintSpace;
  /** generate / style: output size */
  width?: number;
  height?: number;
  /** style (and optionally inpaint): the style reference, [1, 3, H, W] in [-1, 1], any size */
  styleImage?: ImageData4;
  /** weight of the style direction against the task's own constraint (default 1) */
  styleWeight?: number;
}

export interface TaskDefaults { K: number; lr: number | [number, number]; guidance: number; method: Method; steps: number }

/** The CLI's per-task defaults (src/cli/sampling_options.ts TASK_DEFAULTS; method.md). */
export const TASK_DEFAULTS: Record<WebTask, TaskDefaults> = {
  generate: { K: 0, lr: 0.1, guidance: 7.5, method: 'none', steps: 20 },
  inpaint: { K: 5, lr: [0.5, 0.1], guidance: 1, method: 'newton', steps: 20 },
  superres: { K: 10, lr: 0.1, guidance: 1, method: 'newton', steps: 20 },
  deblur: { K: 10, lr: 0.1, guidance: 1, method: 'newton', steps: 20 },
  colorize: { K: 10, lr: 0.1, guidance: 1, method: 'newton', steps: 20 },
  // K 5, lr 0.5 -> 0.1, and the paper's CFG w = 2 in the method's form (1 + w) eps_c - w eps_u,
  // which is the usual form eps_u + s (eps_c - eps_u) at s = 3 (the page's guidance is the usual s)
  style: { K: 5, lr: [0.5, 0.1], guidance: 3, method: 'newton', steps: 20 },
};

export const TASK_LABELS: Record<WebTask, string> = {
  generate: 'Generate', inpaint: 'Inpaint', superres: 'Super-res', deblur: 'Deblur', colorize: 'Colorize', style: 'Style',
};

/** Whether a task takes a style reference: always for 'style', optionally for inpainting. */
export const takesStyle = (t: WebTask): boolean => t === 'style' || t === 'inpaint';

/** What the page and the worker say when a style run has no CLIP weights (the CLI's wording). */
export const NO_CLIP_MESSAGE = 'Style guidance needs CLIP ViT-B/16 vision weights, and no CLIP weights ship with Tether: ' +
  'choose openai/clip-vit-base-patch16 in the transformers layout (its folder, or its model.safetensors with or without config.json).';

/** Problems with a spec, in words for the page (empty = fine); clipLoaded: the worker holds CLIP weights. */
export function specProblems(spec: TaskSpec, factor: number, clipLoaded = false): string[] {
  const out: string[] = [];
  const { task, steps, K, method } = spec;
  const generates = task === 'generate' || task === 'style';
  if (!Number.isInteger(steps) || steps < 1 || steps > 1000) out.push('Steps must be an integer in 1..1000.');
  else if (!(generates && method === 'none') && 1000 % steps !== 0) {
    out.push(`Steps must divide 1000 for the constrained sampler (got ${steps}); e.g. 4, 10, 20, 25, 50.`);
  }
  if (!Number.isInteger(K) || K < 0 || K > 100) out.push('K must be an integer in 0..100.');
  else if ((method === 'newton' || method === 'no-jacobian') && K < 1) out.push(`The ${method} method needs K >= 1.`);
  if (!Number.isInteger(spec.seed) || spec.seed < 0 || spec.seed > 0xfffffffe) out.push('Seed must be an integer in 0..4294967294.');
  if (!(spec.guidance >= 0 && spec.guidance <= 50)) out.push('Guidance must be a number in 0..50.');
  if (generates) {
    for (const [k, v] of [['Width', spec.width], ['Height', spec.height]] as const) {
      if (!Number.isInteger(v) || v! < factor || v! % factor) out.push(`${k} must be a positive multiple of ${factor}.`);
    }
  } else if (!spec.image) {
    out.push('This task needs an input image.');
  } else {
    const [, , H, W] = spec.image.shape;
    const s = task === 'superres' ? spec.scale ?? 4 : 1;
    if ((H * s) % factor || (W * s) % factor) out.push(`The output size ${W * s}x${H * s} must be a multiple of ${factor}.`);
  }
  if (task === 'inpaint') {
    if (!spec.mask) out.push('Inpainting needs a mask: paint the region to fill.');
    else if (!spec.mask.data.some((v) => v === 0)) out.push('The mask is empty: paint the region to fill with the brush.');
    if (spec.inpaintSpace === 'pixel' && method === 'replace') out.push('The replace baseline replaces latent cells: choose latent space for it.');
  }
  if (task === 'style' && !spec.styleImage) out.push('Style needs a style reference image.');
  if (spec.styleImage) {
    if (!clipLoaded) out.push(NO_CLIP_MESSAGE);
    if (spec.method === 'none' || spec.method === 'replace') out.push(`Style guidance needs the newton or no-jacobian method (got ${spec.method}).`);
    if (!((spec.styleWeight ?? 1) > 0)) out.push('The style weight must be a positive number.');
  }
  return out;
}

/**
 * The engine request for a spec (progress and cancellation are added by the caller). A spec with a
 * style reference needs `styleLoss`, the CLIP style loss of the caller's loaded tower.
 */
export function toTaskRequest(spec: TaskSpec, styleLoss?: ClipStyleLoss): TaskRequest {
  const settings: SamplerSettings = {
    steps: spec.steps, K: spec.K, lr: spec.lr, h: spec.h, schedule: spec.schedule, method: spec.method,
  };
  const guidance: Guidance | null = spec.guidance === 1 ? null : { form: 'diffusers', scale: spec.guidance };
  const generates = spec.task === 'generate' || spec.task === 'style';
  if (spec.task === 'style' && !spec.styleImage) throw new Error('Style needs a style reference image.');
  if (spec.styleImage && !styleLoss) throw new Error(NO_CLIP_MESSAGE);
  return {
    task: spec.task === 'style' ? 'generate' : spec.task,
    prompt: spec.prompt,
    negativePrompt: spec.negativePrompt,
    guidance,
    settings,
    noise: seededNoise([spec.seed]),
    image: generates ? undefined : spec.image,
    mask: spec.task === 'inpaint' ? spec.mask : undefined,
    inpaintSpace: spec.task === 'inpaint' ? spec.inpaintSpace : undefined,
    scale: spec.task === 'superres' ? spec.scale : undefined,
    blurSigma: spec.task === 'deblur' ? spec.blurSigma : undefined,
    width: generates ? spec.width : undefined,
    height: generates ? spec.height : undefined,
    style: spec.styleImage && styleLoss ? { loss: styleLoss, image: spec.styleImage, weight: spec.styleWeight } : undefined,
  };
}
