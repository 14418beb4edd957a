// Style guidance for any task (arXiv 2410.18804, "style": K = 5, lr 0.5 -> 0.1, a prompt with
// classifier-free guidance w = 2 in the method's form (1 + w) eps_c - w eps_u). A TaskRequest
// carrying `style` gets a StyleConstraint (CLIP Gram loss of the decoded x0, pulled back through
// the encoder); when the task has its own constraint (inpainting, super-resolution, ...) the two
// are combined (each direction normalised by its max, then added; combined.ts).
// The CLIP model is loaded by the caller (clip_vision/load.ts: Node's --clip PATH, the page's picked files).
import type { ClipStyleLoss } from '../clip_vision/style_loss.js';
import type { GpuContext } from '../gpu/context.js';
import type { SamplerSettings } from '../sampler/types.js';
import { CombinedConstraint } from '../sampler/constraints/combined.js';
import type { Constraint } from '../sampler/constraints/constraint.js';
import { StyleConstraint } from '../sampler/constraints/style.js';
import type { Guidance } from '../sampler/guidance.js';
import { TASKS } from './task_registry.js';
import type { ImageData4, TaskModels, TaskRequest } from './tasks.js';

export interface StyleRequest {
  /** the CLIP style loss (its model stays the caller's: not freed here) */
  loss: ClipStyleLoss;
  /** the style reference, [1 or N, 3, H, W] in [-1, 1], any size (resized like the samples) */
  image: ImageData4;
  /** weight of the style direction against the task's own constraint (default 1; both max-normalised) */
  weight?: number;
}

const style = TASKS.style.defaults;
/** The paper's style settings (the task table's: K = 5, lr linear 0.5 -> 0.1; method.md table). */
export const STYLE_SETTINGS: Pick<SamplerSettings, 'K' | 'lr' | 'method'> = { K: style.K, lr: style.lr, method: style.method };
/** ... with a prompt and CFG w = 2 in the method's form (= the usual scale 3). */
export const STYLE_GUIDANCE: Guidance = { form: 'newton', scale: style.guidance - 1 };

/** The style constraint of a request. */
export function styleConstraint(ctx: GpuContext, m: TaskModels, style: StyleRequest, h: number): StyleConstraint {
  const [n, c] = style.image.shape;
  if (c !== 3) throw new Error(`the style image must be RGB [N, 3, H, W] (got ${c} channels)`);
  if (n < 1) throw new Error('the style image batch is empty');
  const ref = ctx.upload(style.image.data, style.image.shape);
  try {
    return StyleConstraint.fromImage(ctx, style.loss, ref, m.codec, h);
  } finally {
    ctx.release(ref);
  }
}

/**
 * `base` (the task's own constraint, if any) with the request's style added; `base` unchanged when
 * the request has no style. On failure `base` is destroyed, so the caller never leaks it.
 */
export async function withStyle(ctx: GpuContext, m: TaskModels, req: TaskRequest, base: Constraint | undefined): Promise<Constraint | undefined> {
  const style = req.style;
  if (!style) return base;
  try {
    const weight = style.weight ?? 1;
    if (!(weight > 0 && Number.isFinite(weight))) throw new Error(`style weight must be a positive number (got ${weight})`);
    const s = styleConstraint(ctx, m, style, req.settings.h);
    return base ? new CombinedConstraint([{ constraint: base }, { constraint: s, weight }]) : s;
  } catch (e) {
    base?.destroy?.(ctx);
    throw e;
  }
}
