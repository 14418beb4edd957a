// Image sizes on the page, as pure functions (test/e2e/page_rules.test.ts). As in the CLI, only
// generate and style take a typed Width x Height (`--width`, `--height`); the other tasks work at
// the size of their input image. The page differs from the CLI in one visible way: a picture whose
// long side is over the model's native size is scaled down to it, and every image is rounded to
// the VAE factor, with the caption saying so (a phone photo would otherwise run at 4032 px, or be
// refused for 4031 px). A typed size is never corrected: a wrong one gets a message and keeps Run
// disabled until it is fixed.
import { TASKS } from '../../src/pipeline/task_registry.js';
import type { WebTask } from '../task_spec.js';

/** The largest typed side: about 16x SD 1.4's latent memory at 512 px, already slow in a browser. */
export const MAX_SIDE = 2048;

/** Whether the task takes Width x Height (the output size) from the fields (the table's `needs.size`). */
export const usesTypedSize = (t: WebTask): boolean => TASKS[t].needs.size;

/** The message for typed Width / Height texts, or null when both are valid for the VAE factor. */
export function typedSizeProblem(width: string, height: string, factor: number): string | null {
  const bad: string[] = [];
  for (const [name, text] of [['Width', width], ['Height', height]] as const) {
    const v = Number(text.trim());
    if (text.trim() === '' || !Number.isInteger(v) || v < factor || v > MAX_SIDE || v % factor) bad.push(`${name} ${text.trim() || '(empty)'}`);
  }
  return bad.length ? `${bad.join(' and ')}: width and height must be multiples of ${factor} (the VAE factor) from ${factor} to ${MAX_SIDE}.` : null;
}

const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);

export interface ImageFit {
  /** the output (work) size */
  width: number;
  height: number;
  /** the size the input image is used at: the output size, or output / scale for super-resolution */
  inputWidth: number;
  inputHeight: number;
  /** why the image is not used at its own size (null: it is) */
  note: string | null;
}

/**
 * The size an input image of w x h is used at. The input's long side is at most `native` (the
 * model's native size); then the input is rounded so that input x scale is a multiple of the
 * factor (super-resolution: scale = its factor; other tasks: 1).
 */
export function fitImage(w: number, h: number, factor: number, native: number, scale = 1): ImageFit {
  const s = Math.min(1, native / Math.max(w, h));
  const step = factor / gcd(factor, scale);                    // input step so that input * scale % factor == 0
  const round = (v: number) => Math.max(step, Math.round((v * s) / step) * step);
  const iw = round(w), ih = round(h);
  const why: string[] = [];
  if (s < 1) why.push(`scaled to the model's native ${native} px`);
  if ((s < 1 && (iw !== Math.round(w * s) || ih !== Math.round(h * s))) || (s === 1 && (iw !== w || ih !== h))) {
    why.push(`rounded to multiples of ${step}${scale > 1 ? ` (× ${scale} = multiples of ${factor}, the VAE factor)` : ' (the VAE factor)'}`);
  }
  return { width: iw * scale, height: ih * scale, inputWidth: iw, inputHeight: ih, note: why.length ? why.join(', ') : null };
}
