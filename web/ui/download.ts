// The result as a PNG file with the generation parameters in its metadata, as the CLI writes them
// (src/cli/run_metadata.ts; the same keys, so one reader serves both): iTXt `parameters` holds the
// A1111 text that image viewers and other SD front-ends read, iTXt `tether` the JSON of every
// setting, enough to run the same request again, and `Software` the version.
import { a1111Parameters, withPngText } from '../../src/pipeline/png_text.js';
import { TASKS } from '../../src/pipeline/task_registry.js';
import { SOFTWARE as LIBRARY, TETHER_VERSION } from '../../src/version.js';
import type { TaskSpec } from '../task_spec.js';

const SOFTWARE = `${LIBRARY} (web page)`;

/** What the page knows about a run besides its spec. */
export interface RunContext {
  model: string;
  weightDtype: string;
  adapter: string;
  width: number;
  height: number;
  /** picked files by the CLI's flag names (image, mask, style_image); undefined ones are left out */
  inputs: Record<string, string | undefined>;
}

/** The metadata entries of a run's PNG (keyword -> text). */
export function resultText(spec: TaskSpec, run: RunContext): Record<string, string> {
  const inputs = Object.fromEntries(Object.entries(run.inputs).filter(([, v]) => v !== undefined));
  // the task options the CLI records, under its names (only those this task sets)
  const options = Object.fromEntries(Object.entries({
    scale: spec.scale, sigma: spec.blurSigma, inpaint_space: spec.inpaintSpace,
    style_weight: spec.styleImage ? spec.styleWeight ?? TASKS[spec.task].extra.styleWeight : undefined,
  }).filter(([, v]) => v !== undefined));
  const cfgForm = spec.cfgForm ?? TASKS[spec.task].defaults.cfgForm;   // the page has no control for it
  const json = {
    task: spec.task, model: run.model, prompt: spec.prompt, negative_prompt: spec.negativePrompt, seed: spec.seed,
    steps: spec.steps, K: spec.K, lr: spec.lr, h: spec.h, schedule: spec.schedule, method: spec.method,
    guidance: spec.guidance, cfg_form: cfgForm, width: run.width, height: run.height, weight_dtype: run.weightDtype,
    adapter: run.adapter, inputs, ...options, version: TETHER_VERSION,
  };
  const parameters = a1111Parameters({
    prompt: spec.prompt, negativePrompt: spec.negativePrompt, steps: spec.steps, guidance: spec.guidance, seed: spec.seed,
    width: run.width, height: run.height, model: run.model,
    extra: {
      'Tether task': spec.task, 'Tether method': spec.method, K: spec.method === 'none' ? undefined : spec.K, lr: spec.lr,
      Schedule: spec.schedule, 'CFG form': cfgForm, ...Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`Input ${k}`, v])),
      ...options, 'Weight dtype': run.weightDtype, Version: SOFTWARE,
    },
  });
  return { parameters, tether: JSON.stringify(json), Software: SOFTWARE };
}

/** The canvas as PNG bytes with the run's metadata. */
export async function resultPng(canvas: HTMLCanvasElement, spec: TaskSpec, run: Omit<RunContext, 'width' | 'height'>): Promise<Blob> {
  const blob = await new Promise<Blob | null>((ok) => canvas.toBlob(ok, 'image/png'));
  if (!blob) throw new Error('the browser could not encode the result as PNG');
  const png = withPngText(new Uint8Array(await blob.arrayBuffer()), resultText(spec, { ...run, width: canvas.width, height: canvas.height }));
  return new Blob([png], { type: 'image/png' });
}
