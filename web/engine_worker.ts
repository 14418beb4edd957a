// The engine, in a module worker: it owns the GPU device and the loaded SdPipeline, so weight
// conversion and sampling never block the page. The page talks to it with the messages of
// protocol.ts; this file only translates them to SdPipeline.open / run / destroy, as the CLI does
// (the weight-dtype rule, defaults and validation are the library's). Only the byte sources differ
// from Node (HTTP Range requests, File/Blob slices). It also owns the CLIP vision tower of style
// guidance (loaded once from the user's files by clip_vision/load.ts, as the CLI's --clip; replaced
// by the next pick, gone with the device) and attaches it to style runs. The kernel-variant table
// arrives with each load and goes back with each result: the page keeps it (workers have no localStorage).
/// <reference lib="webworker" />
import { ClipStyleLoss } from '../src/clip_vision/style_loss.js';
import type { ClipVisionModel } from '../src/clip_vision/clip_vision_model.js';
import { loadClipVision, type ClipFiles } from '../src/clip_vision/load.js';
import type { GpuContext } from '../src/gpu/context.js';
import { adapterName, createGpuContext } from '../src/gpu/device.js';
import { resolveWeightDtype, type ModelSource } from '../src/pipeline/load_pipeline.js';
import { tensorToRgba } from '../src/pipeline/image.js';
import { SdPipeline, type RunOptions } from '../src/pipeline/sd_pipeline.js';
import {
  activationFit, bindingLimit, checkWeightsFit, DeviceFitError, formatBytes, weightTrees,
} from '../src/pipeline/device_fit.js';
import { blobByteSource, directoryHandleModelFiles, type DirectoryHandleLike } from '../src/weights/index.js';
import {
  countingByteSource, countingModelFiles, emptyReadStats, entriesModelFiles, httpModelFiles, type ReadStats,
} from './model_files.js';
import type { ClipChoice, EngineInfo, FromWorker, ModelChoice, ToWorker, WeightChoice } from './protocol.js';
import { toTaskRequest, type TaskSpec } from './task_spec.js';

declare const self: DedicatedWorkerGlobalScope;

type Progress = Parameters<NonNullable<RunOptions['onProgress']>>[0];

let ctx: GpuContext | null = null;
let pipe: SdPipeline | null = null;
let clip: { model: ClipVisionModel; loss: ClipStyleLoss } | null = null;
const runs = new Map<number, AbortController>();
/** a smaller buffer limit than the device's, for tests of the too-big path (null = the device's) */
let limitOverride: number | null = null;

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
    ctx = null; pipe = null; clip = null; // the device's buffers went with it
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

/** Why the pipeline holds weights of this type (the rule itself is the library's resolveWeightDtype). */
function weightWhy(c: GpuContext, choice: WeightChoice, got: string): string {
  if (choice !== 'auto') return 'chosen';
  if (got === 'f16') return 'the adapter has shader-f16';
  return c.hasF16 ? 'software adapter: f16 is no faster there' : 'the adapter has no shader-f16';
}

async function load(choice: ModelChoice, weights: WeightChoice, variantTable: unknown): Promise<void> {
  const stats: ReadStats = emptyReadStats();
  const started = performance.now();
  try {
    if (!ctx) throw new Error('the GPU device is not ready (reload the engine)');
    const c = ctx;
    if (pipe) { pipe.destroy(); pipe = null; }
    let expected = 0, lastPost = 0;
    const onRead = () => {
      const now = performance.now();
      if (now - lastPost < 120 || expected <= 0) return;
      lastPost = now;
      post({ type: 'load-status', text: `Reading weights: ${MB(stats.bytes)} of ${MB(expected)}`, fraction: Math.min(0.99, stats.bytes / expected) });
    };
    const status = (text: string) => post({ type: 'load-status', text, fraction: null });

    status('Opening the model…');
    const source = await modelSource(choice, stats, onRead);
    const dtype = resolveWeightDtype(c, weights);
    status('Checking the weights against this device’s limits…');
    // headers only: every weight against the largest buffer this device allows (src/pipeline/device_fit.ts, as the CLI)
    const gpuBytes = await checkWeightsFit(await weightTrees(source, dtype), bindingLimit(c.limits, limitOverride), dtype, c.hasF16);
    // every weight file is open now (headers read): progress is bytes read of their total size
    expected = Object.values(stats.opened).reduce((a, b) => a + b, 0);
    status(`Loading ${MB(gpuBytes)} of ${dtype} weights…`);

    const p = await SdPipeline.open(source, { ctx: c, weightDtype: weights, variantTable });
    try {
      await c.sync(); // surfaces out-of-memory and validation errors of the uploads
    } catch (e) {
      p.destroy();
      throw e;
    }
    pipe = p;
    const m = p.model;
    post({
      type: 'loaded',
      model: {
        name: p.name, kind: m.kind, weightDtype: p.weightDtype as 'f16' | 'f32', weightWhy: weightWhy(c, weights, p.weightDtype),
        configSource: m.configSource, factor: p.factor, nativeSize: p.nativeSize,
        gpuBytes, seconds: (performance.now() - started) / 1000, reads: stats,
      },
    });
  } catch (e) {
    const message = (e as Error).message ?? String(e);
    post({ type: 'load-error', message, tooBig: e instanceof DeviceFitError || TOO_BIG.test(message), reads: stats });
  }
}

/** The pick as a ModelSource whose reads are counted in `stats`. */
async function modelSource(choice: ModelChoice, stats: ReadStats, onRead: () => void): Promise<ModelSource> {
  switch (choice.kind) {
    case 'server':
      return { kind: 'diffusers', files: countingModelFiles(await httpModelFiles(choice.base), stats, onRead) };
    case 'entries':
      return { kind: 'diffusers', files: countingModelFiles(entriesModelFiles(choice.entries, choice.name), stats, onRead) };
    case 'directory':
      return { kind: 'diffusers', files: countingModelFiles(directoryHandleModelFiles(choice.handle as unknown as DirectoryHandleLike), stats, onRead) };
    case 'single-file': {
      const file = countingByteSource(blobByteSource(choice.file), stats, onRead);
      if (choice.config === 'server') return { kind: 'single-file', file, config: await httpModelFiles(choice.base) };
      // A single file has no tokenizer: SD 1.x uses the standard CLIP vocabulary, which the default model ships.
      const tokenizer = await httpModelFiles(choice.base).catch(() => null);
      if (!tokenizer) throw new Error('a single-file checkpoint has no tokenizer, and this server has no default model to take the CLIP tokenizer from: load a diffusers folder instead');
      return { kind: 'single-file', file, tokenizer };
    }
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
function checkRunFits(c: GpuContext, p: SdPipeline, r: ReturnType<SdPipeline['resolve']>): void {
  const s = r.scale ?? 1;                                  // resolved: set for super-resolution only
  const [H, W] = r.image ? [r.image.shape[2] * s, r.image.shape[3] * s] : [r.height!, r.width!];
  const batch = (r.guidance === 1 ? 1 : 2) * (r.schedule === 'fused' ? 2 : 1);
  const fit = activationFit(p.model.configs, { N: 1, unetBatchPerImage: batch, H, W }, bindingLimit(c.limits, limitOverride));
  if (fit.ok) return;
  throw new DeviceFitError(`A ${W}×${H} result needs a ${MB(fit.need.bytes)} buffer (${fit.need.what}); this device allows ` +
    `${MB(fit.limit)}. ${fit.maxSquare ? `The largest square image that fits is ${fit.maxSquare}×${fit.maxSquare}.` : 'No image size fits.'}`);
}

async function run(id: number, spec: TaskSpec, previewEvery: number): Promise<void> {
  const ac = new AbortController();
  runs.set(id, ac);
  try {
    if (!ctx || !pipe) throw new Error(ctx ? 'no model is loaded' : 'the GPU device is not ready');
    const c = ctx, p = pipe;
    const req = toTaskRequest(spec, clip?.loss);
    checkRunFits(c, p, p.resolve(req));                   // resolve: the table's defaults and rules
    const onProgress = async (pr: Progress) => {
      let preview: { rgba: Uint8ClampedArray; width: number; height: number } | undefined;
      if (previewEvery > 0 && pr.step < pr.steps && pr.step % previewEvery === 0) {
        const img = await p.models.codec.decode(c, pr.x0);
        const [, ch, H, W] = img.shape;
        const data = await c.read(img);
        c.release(img);
        const rgba = tensorToRgba(data, ch!, H!, W!);
        preview = { rgba: rgba.data as Uint8ClampedArray, width: W!, height: H! };
      }
      post({ type: 'progress', id, step: pr.step, steps: pr.steps, evals: pr.evals, elapsedMs: pr.elapsedMs, preview },
        preview ? [preview.rgba.buffer] : []);
      ac.signal.throwIfAborted();
    };
    const result = await p.run(req, { onProgress, signal: ac.signal });
    post({
      type: 'done', id, image: result.images, evals: result.evals, seconds: result.seconds,
      parameters: result.parameters, variantTable: p.variantTable(),
    }, [result.images.data.buffer]);
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
    case 'load': void load(msg.model, msg.weights, msg.variantTable); break;
    case 'run': void run(msg.id, msg.spec, msg.previewEvery); break;
    case 'load-clip': void loadClip(msg.clip); break;
    case 'cancel': runs.get(msg.id)?.abort(new DOMException('cancelled', 'AbortError')); break;
    case 'lose-device': ctx?.device.destroy(); break;
  }
};
