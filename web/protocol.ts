// Messages between the page (main.ts) and the engine worker (engine_worker.ts). Everything here
// is structured-cloneable: File objects and directory handles cross as they are (the worker
// reads them by byte ranges; nothing is copied whole).
import type { ImageData4 } from '../src/pipeline/tasks.js';
import type { ReadStats } from './model_files.js';
import type { TaskSpec } from './task_spec.js';

export type ModelChoice =
  /** the default model, served by tools/serve_web.mjs under `base` */
  | { kind: 'server'; base: string }
  /** a diffusers folder: (path relative to the chosen folder, File) pairs */
  | { kind: 'entries'; entries: [string, File][]; name?: string }
  /** a diffusers folder opened with showDirectoryPicker() */
  | { kind: 'directory'; handle: FileSystemDirectoryHandle }
  /** a single-file SD 1.x checkpoint; configs: read off its tensor shapes, or the default model's folder */
  | { kind: 'single-file'; file: File; config: 'file' | 'server'; base: string };

export type WeightChoice = 'auto' | 'f32' | 'f16';

/** CLIP vision weights for style guidance (no CLIP weights ship with Tether: the user picks them). */
export type ClipChoice =
  /** picked files: one .safetensors alone (sizes from its tensor shapes), or with its config.json */
  | { kind: 'files'; files: File[] }
  /** a folder: (path relative to the chosen folder, File) pairs from <input webkitdirectory> or a drop */
  | { kind: 'entries'; entries: [string, File][]; name?: string }
  /** a folder opened with showDirectoryPicker() */
  | { kind: 'directory'; handle: FileSystemDirectoryHandle };

/** A loaded CLIP tower, in numbers for the page's status line. */
export interface ClipInfo {
  name: string;
  /** encoder layers uploaded, of those in the files */
  layers: number;
  layersInFiles: number;
  tensors: number;
  params: number;
  /** bytes on the GPU (f32) */
  gpuBytes: number;
  /** 'config.json' or 'tensor shapes of model.safetensors' */
  configFrom: string;
  /** image size and width of the tower */
  imageSize: number;
  hiddenSize: number;
  skipped: { what: string; tensors: number; params: number }[];
  seconds: number;
  reads: ReadStats;
}

export interface EngineInfo {
  adapter: string;
  vendor: string;
  architecture: string;
  description: string;
  isFallbackAdapter: boolean;
  /** the adapter offers shader-f16 */
  f16Available: boolean;
  subgroups: boolean;
  subgroupMinSize: number;
  subgroupMaxSize: number;
  limits: { maxBufferSize: number; maxStorageBufferBindingSize: number; maxComputeInvocationsPerWorkgroup: number; maxStorageBuffersPerShaderStage: number };
}

export interface ModelInfo {
  name: string;
  kind: 'diffusers' | 'single-file';
  weightDtype: 'f16' | 'f32';
  /** why this weight type */
  weightWhy: string;
  /** where the configs came from (a folder's config.json files, or a single file's tensor shapes) */
  configSource: string;
  /** VAE down-sampling factor */
  factor: number;
  /** the UNet's native image size in pixels (sample_size x factor) */
  nativeSize: number;
  /** bytes of weights resident on the GPU */
  gpuBytes: number;
  seconds: number;
  reads: ReadStats;
}

export type ToWorker =
  /** bindingLimit: pretend the device's largest buffer is this many bytes (tests of the too-big message) */
  | { type: 'init'; disableF16?: boolean; bindingLimit?: number }
  /** variantTable: the page's saved kernel-variant table for this adapter (ui/variant_store.ts), or null */
  | { type: 'load'; model: ModelChoice; weights: WeightChoice; variantTable: unknown }
  | { type: 'run'; id: number; spec: TaskSpec; previewEvery: number }
  | { type: 'cancel'; id: number }
  /** loads (or replaces) the CLIP tower for style guidance */
  | { type: 'load-clip'; clip: ClipChoice }
  /** test hook: destroys the device as a driver reset would (device.lost fires) */
  | { type: 'lose-device' };

export type FromWorker =
  | { type: 'ready'; info: EngineInfo }
  | { type: 'no-webgpu'; message: string }
  | { type: 'lost'; message: string }
  | { type: 'load-status'; text: string; fraction: number | null }
  | { type: 'loaded'; model: ModelInfo }
  | { type: 'load-error'; message: string; tooBig: boolean; reads: ReadStats }
  | { type: 'clip-loaded'; clip: ClipInfo }
  | { type: 'clip-error'; message: string }
  | { type: 'progress'; id: number; step: number; steps: number; evals: number; elapsedMs: number; preview?: { rgba: Uint8ClampedArray; width: number; height: number } }
  /** parameters: the library's record of the run (defaults filled in); variantTable: the context's table, to keep */
  | { type: 'done'; id: number; image: ImageData4; evals: number; seconds: number; parameters: Record<string, unknown>; variantTable: unknown }
  | { type: 'run-error'; id: number; message: string; cancelled: boolean };
