// Whether the Run button may start a run now, and if not, why, in words shown under it. Pure
// (test/e2e/page_rules.test.ts). These are the problems the page can see without building the
// request; the rest (steps that do not divide 1000, a bad learning rate, ...) are the task table's
// rules, checked by specProblems() when Run is clicked. A run that cannot succeed should not start only
// to fail with an engine error: that is what a first-time user met for Style without CLIP weights.
import { TASKS } from '../../src/pipeline/task_registry.js';
import { NO_CLIP_MESSAGE, type WebTask } from '../task_spec.js';

export interface RunFacts {
  phase: 'starting' | 'no-webgpu' | 'ready' | 'loading' | 'loaded' | 'running' | 'lost';
  task: WebTask;
  /** an input image is chosen (image tasks) */
  hasImage: boolean;
  /** inpainting: pixels marked to fill */
  maskPixels: number;
  /** the typed Width / Height message (generate, style), or null */
  sizeProblem: string | null;
  /** the run takes a style reference: the Style task, or Inpaint with the option ticked */
  styleActive: boolean;
  hasStyleImage: boolean;
  clipPhase: 'none' | 'loading' | 'loaded' | 'error';
}

/** The reasons Run is disabled (empty: it is enabled). */
export function runBlockers(f: RunFacts): string[] {
  switch (f.phase) {
    case 'running': return ['A task is running: wait for it, or cancel it.'];
    case 'loading': return ['The model is loading.'];
    case 'loaded': break;
    case 'lost': return ['The GPU device was lost: restart the engine.'];
    case 'no-webgpu': return ['This browser has no WebGPU.'];
    default: return ['Load a model first.'];
  }
  const out: string[] = [];
  const needs = TASKS[f.task].needs;
  if (needs.size && f.sizeProblem) out.push(f.sizeProblem);
  if (needs.image && !f.hasImage) out.push('Choose an input image: upload one, drop one here, or use Sample.');
  if (needs.mask && f.hasImage && f.maskPixels === 0) out.push('Paint the region to fill with the brush (or pick a mask file).');
  if (f.styleActive) {
    if (!f.hasStyleImage) out.push(needs.styleImage === 'required' ? 'Style needs a style reference image: choose one under Style.' : 'Choose a style reference image, or untick the style option.');
    if (f.clipPhase === 'loading') out.push('The CLIP weights are loading.');
    else if (f.clipPhase !== 'loaded') out.push(NO_CLIP_MESSAGE);
  }
  return out;
}
