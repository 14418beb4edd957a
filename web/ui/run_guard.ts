// Whether the Run button may start a run now, and if not, why, in words shown under it. Pure
// (test/e2e/page_rules.test.ts). These are the problems the page can see without building the
// request; the rest (steps that do not divide 1000, a bad learning rate, ...) are found by
// specProblems() when Run is clicked, as before. A run that cannot succeed should not start only
// to fail with an engine error: that is what a first-time user met for Style without CLIP weights.
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
  const generates = f.task === 'generate' || f.task === 'style';
  if (generates && f.sizeProblem) out.push(f.sizeProblem);
  if (!generates && !f.hasImage) out.push('Choose an input image: upload one, drop one here, or use Sample.');
  if (f.task === 'inpaint' && f.hasImage && f.maskPixels === 0) out.push('Paint the region to fill with the brush (or pick a mask file).');
  if (f.styleActive) {
    if (!f.hasStyleImage) out.push(f.task === 'style' ? 'Style needs a style reference image: choose one under Style.' : 'Choose a style reference image, or untick the style option.');
    if (f.clipPhase === 'loading') out.push('The CLIP weights are loading.');
    else if (f.clipPhase !== 'loaded') out.push(NO_CLIP_MESSAGE);
  }
  return out;
}
