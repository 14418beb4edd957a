// Options shared by every sampling subcommand. Defaults and rules come from the task table
// (src/pipeline/task_registry.ts); here strings become numbers, and the table's problems are
// printed in flag terms (flags.ts).
import { Option, type Command } from 'commander';
import { TASKS, type TaskId } from '../pipeline/task_registry.js';
import type { PipelineRequest } from '../pipeline/sd_pipeline.js';
import type { Method, Schedule } from '../sampler/constrained_sampler.js';

const lrText = (lr: number | [number, number]) => (Array.isArray(lr) ? lr.join(':') : String(lr));

export interface SamplingOptions {
  model?: string; config?: string; originalConfig?: string; prompt: string; negativePrompt: string; steps: string; K?: string; lr?: string;
  h: string; schedule: Schedule; method?: Method; guidance?: string; cfgForm: 'usual' | 'newton'; seed?: string;
  noise?: string; trace?: string; dtype: 'auto' | 'f16' | 'f32'; output: string; quiet?: boolean;
}

export function addSamplingOptions(cmd: Command, task: TaskId): Command {
  const d = TASKS[task].defaults;
  return cmd
    .option('--model <path>', 'diffusers folder or single-file SD 1.x checkpoint (default: the embedded Fashion-MNIST model)')
    .option('--config <dir>', 'for a single-file checkpoint: a diffusers folder with the configs and tokenizer')
    .option('--original-config <yaml>', 'for a single-file checkpoint: its LDM v1-inference.yaml; sizes are read off the tensor shapes, and --config then gives only the tokenizer (default: <checkpoint>.yaml beside it, unless --config)')
    .option('-p, --prompt <text>', 'text prompt', '')
    .option('-n, --negative-prompt <text>', 'negative prompt (the unconditional branch of guidance)', '')
    .option('--steps <n>', task === 'generate' ? `${STEPS_HELP}; must divide 1000 unless --method none` : `${STEPS_HELP}; must divide 1000 (e.g. 10, 20, 25, 50)`, String(d.steps))
    .option('--K <n>', `inner Newton steps per diffusion step, or 'auto': each sample stops when its constraint residual stops improving (by 0.5 x the step's lr, relative) and is no longer evaluated, at most ${d.K} (default ${d.innerStop === 'auto' ? `auto, at most ${d.K}` : d.K})`)
    .option('--lr <lr>', `learning rate: a constant '0.1' or linear 'from:to' over the K inner steps (default ${lrText(d.lr)})`)
    .option('--h <h>', 'finite-difference step: delta = h / max|d|', String(d.h))
    .addOption(scheduleOption())
    .addOption(new Option('--method <m>', task === 'generate' ? 'sampler: only none (plain DDIM) here; the others need a constraint (the other tasks)'
      : `sampler (default ${d.method}): newton, no-jacobian, replace (inpainting), dps (gradient baseline: backprop through the UNet, and the VAE decoder for pixel-space constraints; no guidance or style), none`).choices(['newton', 'no-jacobian', 'replace', 'dps', 'none']))
    .option('--guidance <s>', `classifier-free guidance scale s: eps_u + s (eps_c - eps_u); 1 = off (default ${d.guidance})`)
    .addOption(new Option('--cfg-form <f>', "'usual' eps_u + s(eps_c - eps_u), or 'newton' (1 + w) eps_c - w eps_u with w = s - 1").choices(['usual', 'newton']).default('usual'))
    .option('--seed <n>', 'random seed (default: random, printed)')
    .option('--noise <file>', 'initial latent and per-step noise from a .safetensors (x_init [N,4,h,w], z_list [steps,N,4,h,w])')
    .option('--trace <file>', 'write the whole trajectory (step{s}.x, .eps, .x0, .k{k}.d, .g, ..., result_latent, result_image) to a .safetensors')
    .addOption(new Option('--dtype <d>', 'GPU weight precision: auto = f16 on GPUs with shader-f16, f32 on software adapters').choices(['auto', 'f16', 'f32']).default('auto'))
    .option('-o, --output <file>', 'output PNG (written atomically); a batch of N > 1 images goes to NAME-0.png .. NAME-<N-1>.png instead', `tether-${task}.png`)
    .option('-q, --quiet', 'no progress output');
}

const STEPS_HELP = 'diffusion steps (stride = 1000 / steps, from t = 1000)';

/** --schedule, shared with `tether demo`. */
export function scheduleOption(): Option {
  return new Option('--schedule <s>', 'exact: 1 + 2K UNet evaluations per step; fused: K + 2 with batches of two').choices(['exact', 'fused']).default('exact');
}

/** --steps: 1..1000; the constrained sampler (every task but plain DDIM generation) needs a divisor of 1000. */
export function parseSteps(v: string, constrained: boolean): number {
  const steps = num(v, '--steps', (x) => Number.isInteger(x) && x >= 1 && x <= 1000, 'an integer in 1..1000');
  if (constrained && 1000 % steps !== 0) throw new Error(`--steps must divide 1000 for the constrained sampler (got ${steps}); e.g. 10, 20, 25, 50`);
  return steps;
}

/** --seed: an integer in 0..2^32 - 2. */
export function parseSeed(v: string): number {
  return num(v, '--seed', (x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32 - 1, 'an integer in 0..4294967294');
}

function num(v: string, what: string, check: (x: number) => boolean, rule: string): number {
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x) || !check(x)) throw new Error(`${what} must be ${rule} (got '${v}')`);
  return x;
}

export function parseLr(v: string): number | [number, number] {
  const parts = v.split(':');
  const pos = (s: string) => num(s, '--lr', (x) => x > 0, "a positive number or 'from:to'");
  if (parts.length === 1) return pos(parts[0]!);
  if (parts.length === 2) return [pos(parts[0]!), pos(parts[1]!)];
  throw new Error(`--lr must be a positive number or 'from:to' (got '${v}')`);
}

/**
 * The sampling flags as request fields (numbers parsed; every other rule is the task table's, see
 * validateRequest). `seed` is drawn when not given, so the run can print and record it.
 */
export function parseSampling(o: SamplingOptions, task: TaskId): Partial<PipelineRequest> & { seed: number } {
  const d = TASKS[task].defaults;
  const method = o.method ?? d.method;
  // the CLI's generate has no constraint for the Newton sampler to satisfy (the library's user operator has no flag)
  if (task === 'generate' && method !== 'none') {
    throw new Error(`tether generate samples with plain DDIM (--method none); --method ${method} needs a constraint: use inpaint, superres, deblur, colorize or style`);
  }
  const number = (v: string | undefined, flag: string) => (v === undefined ? undefined : num(v, flag, () => true, 'a number'));
  return {
    prompt: o.prompt, negativePrompt: o.negativePrompt,
    steps: number(o.steps, '--steps'), K: o.K?.trim() === 'auto' ? 'auto' : number(o.K, '--K'), lr: o.lr === undefined ? undefined : parseLr(o.lr), h: number(o.h, '--h'),
    schedule: o.schedule, method, guidance: number(o.guidance, '--guidance'), cfgForm: o.cfgForm,
    seed: o.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : parseSeed(o.seed),
  };
}
