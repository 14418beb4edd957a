// What a run was, as PNG text: `parameters` in the A1111 form that image viewers and other SD
// front-ends read, `tether` with the same run as JSON (every setting, input file names, adapter),
// and `Software`. Settings are recorded as the user gave them (the --guidance value, not the
// sampler's internal w = s - 1 of --cfg-form newton), so a run can be repeated from its image.
import { a1111Parameters } from '../pipeline/png_text.js';
import type { SamplerSettings } from '../sampler/constrained_sampler.js';
import { SOFTWARE, TETHER_VERSION } from './version.js';

/** The last part of a path (either separator): file names only, not the user's folders. */
const basename = (p: string) => p.split(/[\\/]/).filter(Boolean).pop() ?? p;

export interface RunRecord {
  task: string;
  model: string;
  prompt: string;
  negativePrompt: string;
  /** null when the noise came from a --noise file */
  seed: number | null;
  settings: SamplerSettings;
  /** --guidance and --cfg-form as given; both forms compute eps_u + s (eps_c - eps_u) */
  guidance: number;
  cfgForm: 'usual' | 'newton';
  width: number;
  height: number;
  weightDtype: string;
  adapter: string;
  /** input files by flag name (image, mask, style_image, clip, noise); undefined ones are left out */
  inputs: Record<string, string | undefined>;
  /** task options (scale, kernel, sigma, inpaint_space, style_weight) */
  options: Record<string, string | number | undefined>;
  /** the kernel-variant table's hash, when the run reports one */
  variants?: string;
}

export function runPngText(r: RunRecord): Record<string, string> {
  const inputs = Object.fromEntries(Object.entries(r.inputs).filter(([, v]) => v !== undefined));
  const options = Object.fromEntries(Object.entries(r.options).filter(([, v]) => v !== undefined));
  const s = r.settings;
  const json = {
    task: r.task, model: r.model, prompt: r.prompt, negative_prompt: r.negativePrompt, seed: r.seed,
    steps: s.steps, K: s.K, lr: s.lr, h: s.h, schedule: s.schedule, method: s.method, guidance: r.guidance, cfg_form: r.cfgForm,
    width: r.width, height: r.height, weight_dtype: r.weightDtype, adapter: r.adapter, inputs, ...options,
    ...(r.variants === undefined ? {} : { variants: r.variants }), version: TETHER_VERSION,
  };
  const parameters = a1111Parameters({
    prompt: r.prompt, negativePrompt: r.negativePrompt, steps: s.steps, guidance: r.guidance, seed: r.seed,
    width: r.width, height: r.height, model: basename(r.model),
    extra: {
      // K, lr and the schedule belong to the constrained sampler; plain DDIM has none of them
      'Tether task': r.task, 'Tether method': s.method, ...(s.method === 'none' ? {} : { K: s.K, lr: s.lr, Schedule: s.schedule }), 'CFG form': r.cfgForm, ...Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`Input ${k}`, basename(v!)])),
      ...options, 'Weight dtype': r.weightDtype, Version: SOFTWARE,
    },
  });
  return { parameters, tether: JSON.stringify(json), Software: SOFTWARE };
}
