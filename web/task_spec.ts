// What the page asks the engine to do, as plain data (it crosses the worker boundary and is kept
// on window for the end-to-end test): the library's PipelineRequest without what cannot be cloned
// (the CLIP style loss, a noise source, a tracer), every setting given. Defaults, limits and rules
// are the task table's (src/pipeline/task_registry.ts); the page only names the request fields
// with its control labels (LABEL_OF, as src/cli/flags.ts names them with flags). The browser
// worker and the Node side of the tests both call toTaskRequest(), so "same seed, same inputs"
// means the same PipelineRequest on both sides.
import type { ClipStyleLoss } from '../src/clip_vision/style_loss.js';
import type { PipelineRequest } from '../src/pipeline/sd_pipeline.js';
import { TASKS, validateRequest, type Problem, type TaskId } from '../src/pipeline/task_registry.js';

export type WebTask = TaskId;

type Settings = 'prompt' | 'negativePrompt' | 'guidance' | 'steps' | 'K' | 'lr' | 'h' | 'schedule' | 'method' | 'seed';

/** A PipelineRequest as plain data. Style: `styleImage` here, the loss attached by toTaskRequest(). */
export type TaskSpec = Omit<PipelineRequest, 'styleLoss' | 'noise' | 'trace'> & Required<Pick<PipelineRequest, Settings>>;

/** The page's names for request fields: the labels of its controls (and of its inputs). */
export const LABEL_OF: Record<string, string> = {
  steps: 'Steps', K: 'K', lr: 'Learning rate', h: 'h', schedule: 'Schedule', method: 'Method', guidance: 'Guidance',
  cfgForm: 'CFG form', seed: 'Seed', image: 'the input image', mask: 'the mask', inpaintSpace: 'Inpaint space',
  feather: 'Feather', scale: 'Scale', downscaleKernel: 'Kernel', blurSigma: 'Blur σ', width: 'Width', height: 'Height',
  styleImage: 'the style reference', styleWeight: 'the style weight', count: 'Count',
};

/** The labels of the tasks' buttons, in the table's order. */
export const TASK_LABELS: Record<WebTask, string> = Object.fromEntries(
  Object.values(TASKS).map((t) => [t.id, t.label])) as Record<WebTask, string>;

/** Whether a task takes a style reference (required for 'style', optional for inpainting). */
export const takesStyle = (t: WebTask): boolean => TASKS[t].needs.styleImage !== 'no';

/** What the page says where no CLIP weights are loaded: the rule is the table's, this names what to pick. */
export const NO_CLIP_MESSAGE = 'Style guidance needs CLIP ViT-B/16 vision weights, and no CLIP weights ship with Tether: ' +
  'choose openai/clip-vit-base-patch16 in the transformers layout (its folder, or its model.safetensors with or without config.json).';

/** A problem of the table as a sentence with the page's labels ({steps} -> Steps). */
export function problemText(p: Problem): string {
  const s = p.template.replace(/\{(\w+)\}/g, (_, f: string) => LABEL_OF[f] ?? f);
  return s.charAt(0).toUpperCase() + s.slice(1) + (/[.!?]$/.test(s) ? '' : '.');
}

/** Problems with a spec, in words for the page (empty = fine); clipLoaded: the worker holds CLIP weights. */
export function specProblems(spec: TaskSpec, factor: number, clipLoaded = false): string[] {
  return validateRequest(spec, { factor, hasStyleModel: clipLoaded }).map(problemText);
}

/**
 * The library request for a spec: the fields the task takes (by the table's `needs` and `extra`),
 * and for a style reference `styleLoss`, the CLIP style loss of the caller's loaded tower.
 */
export function toTaskRequest(spec: TaskSpec, styleLoss?: ClipStyleLoss): PipelineRequest {
  const def = TASKS[spec.task];
  const takes = (k: keyof typeof def.extra) => k in def.extra;
  const style = def.needs.styleImage !== 'no' && spec.styleImage;
  return {
    task: spec.task, prompt: spec.prompt, negativePrompt: spec.negativePrompt, guidance: spec.guidance, cfgForm: spec.cfgForm,
    steps: spec.steps, K: spec.K, lr: spec.lr, h: spec.h, schedule: spec.schedule, method: spec.method, seed: spec.seed,
    image: def.needs.image ? spec.image : undefined,
    mask: def.needs.mask ? spec.mask : undefined,
    inpaintSpace: takes('inpaintSpace') ? spec.inpaintSpace : undefined,
    scale: takes('scale') ? spec.scale : undefined,
    blurSigma: takes('blurSigma') ? spec.blurSigma : undefined,
    width: def.needs.size ? spec.width : undefined,
    height: def.needs.size ? spec.height : undefined,
    styleImage: style ? spec.styleImage : undefined,
    styleWeight: style ? spec.styleWeight : undefined,
    styleLoss: style ? styleLoss : undefined,
  };
}
