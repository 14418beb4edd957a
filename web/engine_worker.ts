// The engine, in a module worker: it owns the GPU device and the loaded model, so weight
// conversion and sampling never block the page. The page talks to it with the messages of
// protocol.ts. Same engine code as the Node CLI: createGpuContext -> loadPipeline -> taskModels ->
// runTask; only the byte sources differ (HTTP Range requests, File/Blob slices). It also owns the
// CLIP vision tower of style guidance (loaded once from the user's files by clip_vision/load.ts, as
// the CLI's --clip; replaced by the next pick, gone with the device) and attaches it to style runs.
/// <reference lib="webworker" />
import { ClipStyleLoss } from '../src/clip_vision/style_loss.js';
import type { ClipVisionModel } from '../src/clip_vision/clip_vision_model.js';
import { loadClipVision, type ClipFiles } from '../src/clip_vision/load.js';
import type { GpuContext } from '../src/gpu/context.js';
import { adapterName, createGpuContext } from '../src/gpu/device.js';
import { loadPipeline, type ModelSource, type StableDiffusionModel } from '../src/models/load_pipeline.js';
import { tensorToRgba } from '../src/pipeline/image.js';
import { taskModels } from '../src/pipeline/sd_pipeline.js';
import { runTask, type TaskModels } from '../src/pipeline/tasks.js';
import {
  activationFit, bindingLimit, checkWeightsFit, DeviceFitError, formatBytes, weightTrees, type FitConfigs,
} from '../src/pipeline/device_fit.js';
import { CLIPTokenizer } from '../src/text/clip_tokenizer.js';
import {
  blobByteSource, directoryHandleModelFiles, type DirectoryHandleLike, type ModelFiles,
} from '../src/weights/index.js';
import {
  countingByteSource, countingModelFiles, emptyReadStats, entriesModelFiles, httpModelFiles, type ReadStats,
} from './model_files.js';
import type { ClipChoice, EngineInfo, FromWorker, ModelChoice, ToWorker, WeightChoice } from './protocol.js';
import { toTaskRequest, type TaskSpec } from './task_spec.js';

declare const self: DedicatedWorkerGlobalScope;

let ctx: GpuContext | null = null;
let sd: StableDiffusionModel | null = null;
let models: TaskModels | null = null;
let clip: { model: ClipVisionModel; loss: ClipStyleLoss } | null = null;
const runs = new Map<number, AbortController>();
/** a smaller buffer limit than the device's, for tests of the too-big path (null = the device's) */
let limitOverride: number | null = null;
/** the loaded model's configs, for the activation check of each run */
let fitCfg: FitConfigs | null = null;

function post(msg: FromWorker, transfer: Transferable[] = []): void {
  self.postMessage(msg, transfer);
}

const MB = formatBytes;

/** Engine messages that mean "this model does not fit this device" (besides DeviceFitError). */
const TOO_BIG = /out of memory|\bOOM\b|maxBufferSize|maxStorageBufferBindingSize|allocation failed|too large/i;

async function init(disableF16: boolean, override?: number): Promise<void> {
  limitOverride = override && override > 0 ? override : null;
  const gpu = (self.navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) {
    post({ type: 'no-webgpu', message: 'This browser does not offer WebGPU (navigator.gpu is missing).' });
    return;
  }
  try {
    ctx = await createGpuContext(gpu, { disableF16 });
  } catch (e) {
    post({ type: 'no-webgpu', message: (e as Error).message });
    return;
  }
  const mine = ctx;
  void mine.device.lost.then((info) => {
    if (ctx !== mine) return;
    for (const ac of runs.values()) ac.abort(new Error('the GPU device was lost'));
    ctx = null; sd = null; models = null; clip = null; fitCfg = null; // the device's buffers went with it
    post({ type: 'lost', message: `${info.message || 'no details'} (reason: ${info.reason})` });
  });
  const l = ctx.limits;
  const info: EngineInfo = {
    adapter: adapterName(ctx.adapter),
    vendor: ctx.adapter.vendor,
    architecture: ctx.adapter.architecture,
    description: ctx.adapter.description,
    isFallbackAdapter: ctx.adapter.isFallbackAdapter,
    f16Available: ctx.hasF16,
    subgroups: ctx.hasSubgroups,
    subgroupMinSize: ctx.adapter.subgroupMinSize,
    subgroupMaxSize: ctx.adapter.subgroupMaxSize,
    limits: {
      maxBufferSize: l.maxBufferSize, maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
    },
  };
  post({ type: 'ready', info });
}

/** The weight storage type: f16 on GPUs with shader-f16, f32 on software adapters (as the CLI). */
function chooseDtype(c: GpuContext, choice: WeightChoice): { dtype: 'f16' | 'f32'; why: string } {
  if (choice === 'f16') {
    if (!c.hasF16) throw new Error('f16 weights were asked for, but this adapter has no shader-f16: choose f32 or auto');
    return { dtype: 'f16', why: 'chosen' };
  }
  if (choice === 'f32') return { dtype: 'f32', why: 'chosen' };
  if (!c.hasF16) return { dtype: 'f32', why: 'the adapter has no shader-f16' };
  if (c.adapter.isFallbackAdapter) return { dtype: 'f32', why: 'software adapter: f16 is no faster there' };
  return { dtype: 'f16', why: 'the adapter has shader-f16' };
}

async function readTokenizer(files: ModelFiles): Promise<CLIPTokenizer> {
  const [vocab, merges, cfg, special] = await Promise.all(
    ['tokenizer/vocab.json', 'tokenizer/merges.txt', 'tokenizer/tokenizer_config.json', 'tokenizer/special_tokens_map.json']
      .map((p) => files.readText(p)));
  if (vocab === null || merges === null) throw new Error(`${files.name}: missing tokenizer/vocab.json or tokenizer/merges.txt`);
  return new CLIPTokenizer(vocab, merges, { tokenizerConfigJson: cfg ?? undefined, specialTokensMapJson: special ?? undefined });
}

async function load(choice: ModelChoice, weights: WeightChoice): Promise<void> {
  const stats: ReadStats = emptyReadStats();
  const started = performance.now();
  try {
    if (!ctx) throw new Error('the GPU device is not ready (reload the engine)');
    const c = ctx;
    if (sd) { sd.destroy(c); sd = null; models = null; fitCfg = null; }
    let expected = 0, lastPost = 0;
    const onRead = () => {
      const now = performance.now();
      if (now - lastPost < 120 || expected <= 0) return;
      lastPost = now;
      post({ type: 'load-status', text: `Reading weights: ${MB(stats.bytes)} of ${MB(expected)}`, fraction: Math.min(0.99, stats.bytes / expected) });
    };
    const status = (text: string) => post({ type: 'load-status', text, fraction: null });

    status('Opening the model…');
    let source: ModelSource;
    let tokenizerFrom: ModelFiles | null = null;
    switch (choice.kind) {
      case 'server':
        source = { kind: 'diffusers', files: countingModelFiles(await httpModelFiles(choice.base), stats, onRead) };
        break;
      case 'entries':
        source = { kind: 'diffusers', files: countingModelFiles(entriesModelFiles(choice.entries, choice.name), stats, onRead) };
        break;
      case 'directory':
        source = { kind: 'diffusers', files: countingModelFiles(directoryHandleModelFiles(choice.handle as unknown as DirectoryHandleLike), stats, onRead) };
        break;
      case 'single-file': {
        const file = countingByteSource(blobByteSource(choice.file), stats, onRead);
        if (choice.config === 'server') {
          source = { kind: 'single-file', file, config: await httpModelFiles(choice.base) };
        } else {
          source = { kind: 'single-file', file };
          // A single file has no tokenizer: SD 1.x uses the standard CLIP vocabulary, which the
          // default model ships.
          tokenizerFrom = await httpModelFiles(choice.base).catch(() => null);
          if (!tokenizerFrom) throw new Error('a single-file checkpoint has no tokenizer, and this server has no default model to take the CLIP tokenizer from: load a diffusers folder instead');
        }
        break;
      }
    }

    const { dtype, why } = chooseDtype(c, weights);
    status('Checking the weights against this device’s limits…');
    // headers only: every weight against the largest buffer this device allows (src/pipeline/device_fit.ts, as the CLI)
    const gpuBytes = await checkWeightsFit(await weightTrees(source, dtype), bindingLimit(c.limits, limitOverride), dtype, c.hasF16);
    // every weight file is open now (headers read): progress is bytes read of their total size
    expected = Object.values(stats.opened).reduce((a, b) => a + b, 0);
    status(`Loading ${MB(gpuBytes)} of ${dtype} weights…`);

    const components = source.kind === 'single-file' && !source.config ? (['text_encoder', 'unet', 'vae'] as const) : undefined;
    let model = await loadPipeline(c, source, { weightDtype: dtype, components });
    try {
      await c.sync(); // surfaces out-of-memory and validation errors of the uploads
      if (!model.tokenizer) model = { ...model, tokenizer: await readTokenizer(tokenizerFrom!) };
      models = taskModels(c, model);
    } catch (e) {
      model.destroy(c);
      throw e;
    }
    sd = model;
    fitCfg = { unet: model.configs.unet, vae: model.configs.vae };   // the configs it was built with (a single file's are inferred)
    const vae = model.configs.vae;
    const factor = models.codec.factor;
    post({
      type: 'loaded',
      model: {
        name: model.name, kind: model.kind, weightDtype: model.weightDtype as 'f16' | 'f32', weightWhy: why, configSource: model.configSource,
        factor, nativeSize: (model.configs.unet.sample_size ?? (vae as { sampleSize?: number }).sampleSize ?? 64) * factor,
        gpuBytes, seconds: (performance.now() - started) / 1000, reads: stats,
      },
    });
  } catch (e) {
    const message = (e as Error).message ?? String(e);
    post({ type: 'load-error', message, tooBig: e instanceof DeviceFitError || TOO_BIG.test(message), reads: stats });
  }
}

/** The ClipFiles of a pick: a lone weights file (plus a config.json picked with it), or a folder. */
function clipFiles(choice: ClipChoice, stats: ReadStats): ClipFiles {
  switch (choice.kind) {
    case 'files': {
      const files = countingModelFiles(entriesModelFiles(choice.files.map((f) => [f.name, f] as const), 'picked files'), stats);
      const weights = choice.files.filter((f) => !/\.json$/i.test(f.name));
      return weights.length === 1 ? { files, file: weights[0]!.name, label: weights[0]!.name } : { files, label: 'the picked files' };
    }
    case 'entries': {
      const files = countingModelFiles(entriesModelFiles(choice.entries, choice.name), stats);
      return { files, label: files.name };
    }
    case 'directory': {
      const files = countingModelFiles(directoryHandleModelFiles(choice.handle as unknown as DirectoryHandleLike), stats);
      return { files, label: files.name };
    }
  }
}

function freeClip(c: GpuContext): void {
  clip?.loss.destroy(c);
  clip?.model.destroy(c);
  clip = null;
}

async function loadClip(choice: ClipChoice): Promise<void> {
  const stats: ReadStats = emptyReadStats();
  const started = performance.now();
  try {
    if (!ctx) throw new Error('the GPU device is not ready (reload the engine)');
    if (runs.size) throw new Error('a task is running: choose the CLIP weights when it has finished');
    const c = ctx;
    // a new pick replaces the tower: the old one is freed first, so a failed load leaves none
    freeClip(c);
    const where = clipFiles(choice, stats);
    const { model, summary } = await loadClipVision(c, where);
    try {
      await c.sync(); // surfaces out-of-memory and validation errors of the uploads
    } catch (e) {
      model.destroy(c);
      throw e;
    }
    if (ctx !== c) return;                                  // the device was lost meanwhile
    freeClip(c);                                            // two picks in flight: the last to finish wins
    clip = { model, loss: new ClipStyleLoss(model) };
    post({
      type: 'clip-loaded',
      clip: {
        name: where.label, layers: summary.layers, layersInFiles: summary.layersInFiles, tensors: summary.tensors,
        params: summary.params, gpuBytes: 4 * summary.params, configFrom: summary.configFrom,
        imageSize: summary.config.imageSize, hiddenSize: summary.config.hiddenSize, skipped: summary.skipped,
        seconds: (performance.now() - started) / 1000, reads: stats,
      },
    });
  } catch (e) {
    post({ type: 'clip-error', message: (e as Error).message ?? String(e) });
  }
}

/** Throws, in the page's terms, when the run's largest buffer cannot fit this device (as the CLI checks it). */
function checkRunFits(c: GpuContext, spec: TaskSpec): void {
  if (!fitCfg) return;
  const s = spec.task === 'superres' ? spec.scale ?? 4 : 1;
  const [H, W] = spec.image ? [spec.image.shape[2] * s, spec.image.shape[3] * s] : [spec.height!, spec.width!];
  const batch = (spec.guidance === 1 ? 1 : 2) * (spec.schedule === 'fused' ? 2 : 1);
  const fit = activationFit(fitCfg, { N: 1, unetBatchPerImage: batch, H, W }, bindingLimit(c.limits, limitOverride));
  if (fit.ok) return;
  throw new DeviceFitError(`A ${W}×${H} result needs a ${MB(fit.need.bytes)} buffer (${fit.need.what}); this device allows ` +
    `${MB(fit.limit)}. ${fit.maxSquare ? `The largest square image that fits is ${fit.maxSquare}×${fit.maxSquare}.` : 'No image size fits.'}`);
}

async function run(id: number, spec: TaskSpec, previewEvery: number): Promise<void> {
  const ac = new AbortController();
  runs.set(id, ac);
  try {
    if (!ctx || !models) throw new Error(ctx ? 'no model is loaded' : 'the GPU device is not ready');
    const c = ctx, m = models;
    checkRunFits(c, spec);
    const req = toTaskRequest(spec, clip?.loss);
    req.signal = ac.signal;
    req.onProgress = async (p) => {
      let preview: { rgba: Uint8ClampedArray; width: number; height: number } | undefined;
      if (previewEvery > 0 && p.step < p.steps && p.step % previewEvery === 0) {
        const img = await m.codec.decode(c, p.x0);
        const [, ch, H, W] = img.shape;
        const data = await c.read(img);
        c.release(img);
        const rgba = tensorToRgba(data, ch!, H!, W!);
        preview = { rgba: rgba.data as Uint8ClampedArray, width: W!, height: H! };
      }
      post({ type: 'progress', id, step: p.step, steps: p.steps, evals: p.evals, elapsedMs: p.elapsedMs, preview },
        preview ? [preview.rgba.buffer] : []);
      ac.signal.throwIfAborted();
    };
    const result = await runTask(c, m, req);
    post({ type: 'done', id, image: result.image, evals: result.evals, calls: result.calls, seconds: result.seconds },
      [result.image.data.buffer]);
  } catch (e) {
    const cancelled = ac.signal.aborted && !/device was lost/.test(String((ac.signal.reason as Error)?.message));
    post({ type: 'run-error', id, message: cancelled ? 'cancelled' : (e as Error).message ?? String(e), cancelled });
  } finally {
    runs.delete(id);
  }
}

self.onmessage = (ev: MessageEvent<ToWorker>) => {
  const msg = ev.data;
  switch (msg.type) {
    case 'init': void init(Boolean(msg.disableF16), msg.bindingLimit); break;
    case 'load': void load(msg.model, msg.weights); break;
    case 'run': void run(msg.id, msg.spec, msg.previewEvery); break;
    case 'load-clip': void loadClip(msg.clip); break;
    case 'cancel': runs.get(msg.id)?.abort(new DOMException('cancelled', 'AbortError')); break;
    case 'lose-device': ctx?.device.destroy(); break;
  }
};
