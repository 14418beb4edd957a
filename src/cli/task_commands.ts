// `tether generate | inpaint | superres | deblur | colorize`: read inputs, load the model, run the
// task with a progress bar, write the PNG (parameters in its text chunk) atomically.
import { Command, Option } from 'commander';
import { ClipStyleLoss } from '../clip_vision/style_loss.js';
import { loadClipVisionFromPath } from '../clip_vision/load_node.js';
import { adapterName } from '../gpu/device.js';
import { createNodeGpuContext } from '../gpu/device_node.js';
import type { GpuContext } from '../gpu/context.js';
import { loadPipelineFromPath } from '../models/load_pipeline_node.js';
import { tensorToRgba } from '../pipeline/image.js';
import { taskModels } from '../pipeline/sd_pipeline.js';
import { runTask, type InpaintSpace, type TaskName, type TaskRequest } from '../pipeline/tasks.js';
import { seededNoise } from '../sampler/noise.js';
import { Tracer } from '../sampler/tracer.js';
import { writeSafetensorsAtomic } from '../weights/safetensors_write_node.js';
import { embeddedModelPath, readImageArg, readMaskArg, readNoiseArg } from './inputs_node.js';
import { batchOutputPaths, checkWritable } from './output_paths.js';
import { writePngAtomic } from './png_node.js';
import { checkRunFits, plannedSize, type RunPlan } from './preflight.js';
import { runPngText } from './run_metadata.js';
import { loadVariantCache, saveVariantCache } from './variant_cache_node.js';
import { progressBar } from './progress.js';
import { addSamplingOptions, parseSampling, TASK_DEFAULTS, type SamplingOptions } from './sampling_options.js';

interface TaskOptions extends SamplingOptions {
  image?: string; mask?: string; inpaintSpace?: InpaintSpace; scale?: string; kernel?: 'bicubic' | 'box'; sigma?: string; width?: string; height?: string;
  styleImage?: string; clip?: string; styleWeight?: string;
}

/** The CLI's subcommands: the library's tasks, plus 'style' (generation guided by a reference image's CLIP style). */
export type CliTask = TaskName | 'style';

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
      this.error(`tether ${task}: ${String((e as Error).message).split('\n')[0]}`, { exitCode: 1, code: `tether.${task}` });
    }
  });
  return cmd;
}

async function runTaskCommand(cliTask: CliTask, o: TaskOptions, deps: TaskCommandDeps): Promise<void> {
  const task: TaskName = cliTask === 'style' ? 'generate' : cliTask;
  // 1. validate everything that needs no GPU first: bad input fails fast and leaves no file
  const { settings, guidance, seed } = parseSampling(o, cliTask);
  if (cliTask === 'style' && !o.clip) throw new Error('style guidance needs CLIP ViT-B/16 vision weights (--clip PATH): no CLIP weights ship with Tether');
  const styleImage = o.styleImage ? await readImageArg(o.styleImage) : undefined;
  const styleWeight = Number(o.styleWeight ?? 1);
  if (!(styleWeight > 0)) throw new Error(`--style-weight must be a positive number (got '${o.styleWeight}')`);
  if (!o.output.toLowerCase().endsWith('.png')) throw new Error(`--output must be a .png file (got ${o.output})`);
  checkWritable(o.output, '-o/--output');
  if (o.trace) checkWritable(o.trace, '--trace');
  const req: Partial<TaskRequest> = { task, prompt: o.prompt, negativePrompt: o.negativePrompt, guidance, settings };
  if (o.image) req.image = await readImageArg(o.image);
  if (o.mask) req.mask = await readMaskArg(o.mask);
  if (task === 'inpaint') req.inpaintSpace = o.inpaintSpace;
  if (req.inpaintSpace === 'pixel' && settings.method === 'replace') throw new Error("--method replace replaces known latent cells: it needs --inpaint-space latent");
  if (task === 'superres') {
    const s = Number(o.scale);
    if (!Number.isInteger(s) || s < 2 || s > 16) throw new Error(`--scale must be an integer in 2..16 (got '${o.scale}')`);
    req.scale = s; req.downscaleKernel = o.kernel;
  }
  if (task === 'deblur') {
    const s = Number(o.sigma);
    if (!(s > 0 && s <= 20)) throw new Error(`--sigma must be a number in (0, 20] (got '${o.sigma}')`);
    req.blurSigma = s;
  }
  if (task === 'inpaint' && req.image && req.mask) {
    const [N, , H, W] = req.image.shape, [mn, , mh, mw] = req.mask.shape;
    if (H !== mh || W !== mw) throw new Error(`mask ${o.mask} is ${mw}x${mh} but image ${o.image} is ${W}x${H}: they must have the same size`);
    if (N !== mn) throw new Error(`mask ${o.mask} holds ${mn} mask${mn > 1 ? 's' : ''} but image ${o.image} holds ${N} image${N > 1 ? 's' : ''}: give one mask per image`);
  }
  const modelPath = o.model ?? embeddedModelPath();
  const N = req.image?.shape[0] ?? 1;
  req.noise = o.noise ? await readNoiseArg(o.noise, settings.steps) : seededNoise(Array.from({ length: N }, (_, i) => seed + 2 * i));
  const plan: Omit<RunPlan, 'dtype'> = {
    task: cliTask, N, input: req.image && [req.image.shape[2], req.image.shape[3]], scale: req.scale, width: o.width, height: o.height,
    guided: guidance !== null, pairs: settings.schedule === 'fused' && (settings.method === 'newton' || settings.method === 'no-jacobian'),
  };
  const size = await plannedSize(modelPath, o.config, { ...plan, dtype: 'f32' });

  // 2. GPU and model
  const ctx = deps.ctx ?? await createNodeGpuContext();
  loadVariantCache(ctx);                                  // the same table -> the same kernels -> the same bits
  const dtype = o.dtype === 'auto' ? (ctx.hasF16 && !ctx.adapter.isFallbackAdapter ? 'f16' : 'f32') : o.dtype;
  await checkRunFits(ctx, modelPath, o.config, { ...plan, dtype }, size);   // before any weight is read
  const sd = await loadPipelineFromPath(ctx, modelPath, { weightDtype: dtype, config: o.config, originalConfig: o.originalConfig });
  const cleanup: (() => void)[] = [];
  try {
    const models = taskModels(ctx, sd);
    if (cliTask === 'style') {
      const clip = await loadClipVisionFromPath(ctx, o.clip!);
      cleanup.push(() => clip.destroy(ctx));
      req.style = { loss: new ClipStyleLoss(clip), image: styleImage!, weight: styleWeight };
    }
    if (task === 'generate') { req.width = size.width; req.height = size.height; }
    const tracer = o.trace ? new Tracer(ctx) : undefined;
    req.trace = tracer;
    if (!o.quiet) process.stderr.write(`tether ${task}: ${sd.name} on ${adapterName(ctx.adapter)}, weights ${sd.weightDtype}, seed ${o.noise ? `(noise from ${o.noise})` : seed}\n`);
    if (!o.quiet && sd.kind === 'single-file') process.stderr.write(`tether ${task}: ${sd.configSource}\n`);
    const bar = progressBar(task, Boolean(o.quiet));
    req.onProgress = (p) => bar.update(p);
    const result = await runTask(ctx, models, req as TaskRequest).finally(() => bar.stop());
    const unsaved = saveVariantCache(ctx);
    if (unsaved && !o.quiet) process.stderr.write(`tether ${task}: ${unsaved}\n`);

    // 3. outputs (atomic)
    const [n, c, H, W] = result.image.shape;
    const text = runPngText({
      task: cliTask, model: sd.name, prompt: o.prompt, negativePrompt: o.negativePrompt, seed: o.noise ? null : seed, settings,
      guidance: o.guidance === undefined ? TASK_DEFAULTS[cliTask]!.guidance : Number(o.guidance), cfgForm: o.cfgForm,
      width: W, height: H, weightDtype: sd.weightDtype, adapter: adapterName(ctx.adapter), variants: result.variants,
      inputs: { image: o.image, mask: o.mask, style_image: o.styleImage, clip: o.clip, noise: o.noise },
      options: { scale: req.scale, kernel: req.downscaleKernel, sigma: req.blurSigma, inpaint_space: req.inpaintSpace, style_weight: cliTask === 'style' ? styleWeight : undefined },
    });
    const written = batchOutputPaths(o.output, n);
    for (let i = 0; i < n; i++) await writePngAtomic(written[i]!, tensorToRgba(result.image.data, c, H, W, i * c * H * W), text);
    if (tracer) {
      const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
      for (const [k, v] of tracer.tensors) tensors[k] = { dtype: 'F32', shape: v.shape, data: v.data };
      await writeSafetensorsAtomic(o.trace!, tensors, { params: text.tether! });
    }
    if (!o.quiet) {
      process.stderr.write(`wrote ${written.join(', ')}${o.trace ? ` and ${o.trace}` : ''} (${W}x${H}) in ${result.seconds.toFixed(1)} s, ${result.evals} UNet evaluations\n`);
    }
  } finally {
    for (const c of cleanup) c();
    sd.destroy(ctx);
  }
}
