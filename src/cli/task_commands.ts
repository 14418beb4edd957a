// `tether generate | inpaint | superres | deblur | colorize`: read inputs, load the model, run the
// task with a progress bar, write the PNG (parameters in its text chunk) atomically.
import { Command, Option } from 'commander';
import { ClipStyleLoss } from '../clip_vision/style_loss.js';
import { loadClipVisionFromPath } from '../clip_vision/load_node.js';
import { createNodeGpuContext } from '../gpu/device_node.js';
import type { GpuContext } from '../gpu/context.js';
import { resolveWeightDtype } from '../pipeline/load_pipeline.js';
import { nodeModelSource } from '../pipeline/load_pipeline_node.js';
import { tensorToRgba } from '../pipeline/image.js';
import { maskSizeProblem } from '../pipeline/mask_rules.js';
import { SdPipeline, type PipelineRequest } from '../pipeline/sd_pipeline.js';
import { pullBackFor, TASKS, validateRequest, type TaskId } from '../pipeline/task_registry.js';
import type { InpaintSpace } from '../pipeline/tasks.js';
import type { PullBackVia } from '../sampler/constraints/pixel_linear.js';
import { Tracer } from '../sampler/tracer.js';
import { SamplingError } from '../sampler/types.js';
import { writeSafetensorsAtomic } from '../weights/safetensors_write_node.js';
import { embeddedModelPath, readImageArg, readMaskArg, readNoiseArg } from './inputs_node.js';
import { batchOutputPaths, checkWritable } from './output_paths_node.js';
import { writePngAtomic } from './png_node.js';
import { checkRunFits, plannedSize, type RunPlan } from './preflight.js';
import { runPngText } from './run_metadata.js';
import { loadVariantCache, saveVariantCache } from './variant_cache_node.js';
import { progressBar } from './progress.js';
import { problemText } from './flags.js';
import { addSamplingOptions, parseSampling, type SamplingOptions } from './sampling_options.js';

interface TaskOptions extends SamplingOptions {
  image?: string; mask?: string; inpaintSpace?: InpaintSpace; scale?: string; kernel?: 'bicubic' | 'box'; sigma?: string; width?: string; height?: string;
  styleImage?: string; clip?: string; styleWeight?: string; keepKnown?: boolean; feather?: string; pullBack?: PullBackVia;
}

/** The CLI's subcommands: the task table's tasks. */
export type CliTask = TaskId;

export interface TaskCommandDeps { ctx?: GpuContext }

const DESCRIPTIONS: Record<CliTask, string> = {
  generate: 'text-to-image with the DDIM scheduler (--noise replays recorded noise, --trace records the trajectory)',
  inpaint: 'fill the white region of --mask in -i/--image, consistent with the rest of the image',
  superres: 'super-resolve a LOW-resolution -i/--image by --scale (an integer 2..16, default 4) so that downscaling the result gives the input',
  deblur: 'recover a sharp image from a Gaussian-blurred -i/--image (blur --sigma in pixels)',
  colorize: 'colourise a grey-scale -i/--image (the constraint keeps its luma)',
  style: 'generate from a prompt in the style of --style-image (CLIP ViT-B/16 Gram-matrix loss; needs --clip weights)',
};

export function taskCommand(task: CliTask, deps: TaskCommandDeps = {}): Command {
  const cmd = new Command(task).description(DESCRIPTIONS[task]);
  if (task !== 'generate' && task !== 'style') cmd.requiredOption('-i, --image <file>', 'input image: PNG, or .safetensors with `image` [N,3,H,W] in [-1,1]');
  if (task === 'inpaint') {
    cmd.requiredOption('--mask <file>', 'mask: PNG with white = fill, black = keep; or .safetensors `mask` [N,1,H,W] with 1 = known');
    cmd.addOption(new Option('--inpaint-space <s>', "latent: the paper's constraint on latent cells wholly known; pixel: every known " +
      'pixel, pulled back through the encoder (better, costs a decode and two encodes per inner step)').choices(['latent', 'pixel']).default('latent'));
    cmd.option('--no-keep-known', 'leave the decoded result as sampled (default: the known pixels are pasted back exactly, the seam feathered into the hole)');
    cmd.option('--feather <px>', 'width of the feathered seam in pixels (default: the VAE\'s down-sampling factor: 8 for SD 1.x)');
  }
  if (task === 'inpaint' || task === 'superres' || task === 'deblur' || task === 'colorize') {
    const d = pullBackFor(task, 'pixel');
    cmd.addOption(new Option('--pull-back <via>', `how the pixel-space error becomes a latent direction${task === 'inpaint' ? ' (with --inpaint-space pixel)' : ''}: ` +
      "encoder (a finite difference through the VAE encoder, forward-only) or decoder (backpropagated through the VAE decoder; the UNet stays forward-only)" +
      ` (default ${d})`).choices(['encoder', 'decoder']));
  }
  if (task === 'superres' || task === 'deblur' || task === 'colorize') {
    cmd.option('--no-keep-known', `leave the decoded result as sampled (default: it is moved by the smallest change that makes its ${task === 'superres' ? 'downscaled' : task === 'deblur' ? 'blurred' : 'grey-scale'} version equal the input)`);
  }
  if (task === 'superres') {
    cmd.option('--scale <n>', 'up-scaling factor, an integer in 2..16 (the output is scale times the input size)', '4');
    cmd.addOption(new Option('--kernel <k>', 'the observation operator: antialiased bicubic or box (area) downscaling').choices(['bicubic', 'box']).default('bicubic'));
  }
  if (task === 'deblur') cmd.option('--sigma <px>', 'Gaussian blur sigma of the observation, in pixels', '2');
  if (task === 'generate' || task === 'style') cmd.option('--width <px>', 'image width (default: the model\'s native size)').option('--height <px>', 'image height');
  if (task === 'style') {
    cmd.requiredOption('--style-image <file>', 'the style reference (PNG, or .safetensors `image` [1,3,H,W] in [-1,1])');
    cmd.option('--clip <path>', 'openai/clip-vit-base-patch16 in the transformers layout: its folder or model.safetensors (no CLIP weights ship with Tether)');
    cmd.option('--style-weight <w>', 'weight of the style direction', '1');
  }
  addSamplingOptions(cmd, task);
  cmd.action(async function (this: Command, o: TaskOptions) {
    try {
      await runTaskCommand(task, o, deps);
    } catch (e) {
      const message = e instanceof SamplingError ? problemText({ field: '', message: e.message, template: e.template }) : String((e as Error).message);
      this.error(`tether ${task}: ${message.split('\n')[0]}`, { exitCode: 1, code: `tether.${task}` });
    }
  });
  return cmd;
}

async function runTaskCommand(task: CliTask, o: TaskOptions, deps: TaskCommandDeps): Promise<void> {
  // 1. everything that needs no GPU first: bad input fails fast and leaves no file
  const sampling = parseSampling(o, task);
  if (task === 'style' && !o.clip) throw new Error('style guidance needs CLIP ViT-B/16 vision weights (--clip PATH): no CLIP weights ship with Tether');
  if (!o.output.toLowerCase().endsWith('.png')) throw new Error(`--output must be a .png file (got ${o.output})`);
  checkWritable(o.output, '-o/--output');
  if (o.trace) checkWritable(o.trace, '--trace');
  const req: PipelineRequest = { task, ...sampling };
  const number = (v: string | undefined, flag: string) => {
    if (v === undefined) return undefined;
    const x = Number(v);
    if (v.trim() === '' || !Number.isFinite(x)) throw new Error(`${flag} must be a number (got '${v}')`);
    return x;
  };
  if (o.image) req.image = await readImageArg(o.image);
  if (o.mask) req.mask = await readMaskArg(o.mask);
  if (o.styleImage) req.styleImage = await readImageArg(o.styleImage);
  if (task === 'style') req.styleWeight = number(o.styleWeight ?? '1', '--style-weight');
  if (task === 'inpaint') { req.inpaintSpace = o.inpaintSpace; req.keepKnown = o.keepKnown !== false; req.feather = number(o.feather, '--feather'); }
  if (task === 'superres' || task === 'deblur' || task === 'colorize') req.keepKnown = o.keepKnown !== false;
  if (o.pullBack) req.pullBack = o.pullBack;
  if (task === 'superres') { req.scale = number(o.scale, '--scale'); req.downscaleKernel = o.kernel; }
  if (task === 'deblur') req.blurSigma = number(o.sigma, '--sigma');
  if (task === 'generate' || task === 'style') { req.width = number(o.width, '--width'); req.height = number(o.height, '--height'); }
  if (task === 'inpaint' && req.image && req.mask) {
    const [N, , H, W] = req.image.shape, [mn, , mh, mw] = req.mask.shape;
    const size = maskSizeProblem(o.mask!, mw, mh, o.image!, W, H);
    if (size) throw new Error(size);
    if (N !== mn) throw new Error(`mask ${o.mask} holds ${mn} mask${mn > 1 ? 's' : ''} but image ${o.image} holds ${N} image${N > 1 ? 's' : ''}: give one mask per image`);
  }
  // the task table's rules, in flag terms (sizes against the VAE factor once the configs are read)
  const refuse = (factor: number) => {
    const problems = validateRequest(req, { factor, hasStyleModel: true });   // CLIP weights are checked when loaded
    if (problems.length) throw new Error(problems.map(problemText).join('; '));
  };
  refuse(1);
  const modelPath = o.model ?? embeddedModelPath();
  const def = TASKS[task].defaults;
  const method = req.method ?? def.method, guidance = req.guidance ?? def.guidance;
  if (o.noise) req.noise = await readNoiseArg(o.noise, req.steps ?? def.steps);
  const N = req.image?.shape[0] ?? 1;
  const plan: Omit<RunPlan, 'dtype'> = {
    task, N, input: req.image && [req.image.shape[2], req.image.shape[3]], scale: req.scale, width: o.width, height: o.height,
    guided: guidance !== 1, pairs: (req.schedule ?? def.schedule) === 'fused' && (method === 'newton' || method === 'no-jacobian'),
  };
  const size = await plannedSize(modelPath, o.config, { ...plan, dtype: 'f32' });
  refuse(size.factor);

  // 2. GPU and model
  const ctx = deps.ctx ?? await createNodeGpuContext();
  loadVariantCache(ctx);                                  // the same table -> the same kernels -> the same bits
  await checkRunFits(ctx, modelPath, o.config, { ...plan, dtype: resolveWeightDtype(ctx, o.dtype) }, size);   // before any weight is read
  const pipe = await SdPipeline.open(await nodeModelSource(modelPath, o.config, o.originalConfig), { ctx, weightDtype: o.dtype });
  let clip: { destroy(c: GpuContext): void } | undefined;
  try {
    if (task === 'style') {
      const tower = await loadClipVisionFromPath(ctx, o.clip!);
      clip = tower;
      req.styleLoss = new ClipStyleLoss(tower);
    }
    const tracer = o.trace ? new Tracer(ctx) : undefined;
    req.trace = tracer;
    if (!o.quiet) process.stderr.write(`tether ${task}: ${pipe.name} on ${pipe.adapter}, weights ${pipe.weightDtype}, seed ${o.noise ? `(noise from ${o.noise})` : req.seed}\n`);
    if (!o.quiet && pipe.model.kind === 'single-file') process.stderr.write(`tether ${task}: ${pipe.model.configSource}\n`);
    const bar = progressBar(task, Boolean(o.quiet));
    const result = await pipe.run(req, { onProgress: (p) => bar.update(p) }).finally(() => bar.stop());
    const unsaved = saveVariantCache(ctx);
    if (unsaved && !o.quiet) process.stderr.write(`tether ${task}: ${unsaved}\n`);

    // 3. outputs (atomic)
    const [n, c, H, W] = result.images.shape;
    const p = result.parameters as Record<string, never>;
    const text = runPngText({
      task, model: pipe.name, prompt: o.prompt, negativePrompt: o.negativePrompt, seed: p.seed,
      settings: { steps: p.steps, K: p.K, lr: p.lr, h: p.h, schedule: p.schedule, method: p.method },
      guidance: p.guidance, cfgForm: p.cfg_form, width: W, height: H, weightDtype: pipe.weightDtype, adapter: pipe.adapter, variants: p.variants,
      inputs: { image: o.image, mask: o.mask, style_image: o.styleImage, clip: o.clip, noise: o.noise },
      options: {
        scale: p.scale, kernel: p.kernel, sigma: p.sigma, inpaint_space: p.inpaint_space,
        keep_known: p.keep_known === undefined ? undefined : String(p.keep_known),
        keep_observed: p.keep_observed === undefined ? undefined : String(p.keep_observed), feather: p.feather, style_weight: p.style_weight,
      },
    });
    const written = batchOutputPaths(o.output, n);
    for (let i = 0; i < n; i++) await writePngAtomic(written[i]!, tensorToRgba(result.images.data, c, H, W, i * c * H * W), text);
    if (tracer) {
      const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
      for (const [k, v] of tracer.tensors) tensors[k] = { dtype: 'F32', shape: v.shape, data: v.data };
      await writeSafetensorsAtomic(o.trace!, tensors, { params: text.tether! });
    }
    if (!o.quiet) {
      process.stderr.write(`wrote ${written.join(', ')}${o.trace ? ` and ${o.trace}` : ''} (${W}x${H}) in ${result.seconds.toFixed(1)} s, ${result.evals} UNet evaluations\n`);
    }
  } finally {
    clip?.destroy(ctx);
    pipe.destroy();
  }
}
