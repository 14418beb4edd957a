// The page's state, in one place. `state` is what a test or the console may look at
// (window.__tether); `page` is what the UI modules share besides (the chosen task, the input image
// and its mask, the style reference, the run in flight). Nothing else in web/ui keeps module-level
// state, so what the page knows can be read here.
import type { ImageData4 } from '../../src/pipeline/tasks.js';
import type { ReadStats } from '../model_files.js';
import type { ClipChoice, ClipInfo, EngineInfo, ModelChoice, ModelInfo } from '../protocol.js';
import type { TaskSpec, WebTask } from '../task_spec.js';
import type { Sample } from './samples.js';
import type { ImageFit } from './sizes.js';

export type Phase = 'starting' | 'no-webgpu' | 'ready' | 'loading' | 'loaded' | 'running' | 'lost';
export type ClipPhase = 'none' | 'loading' | 'loaded' | 'error';

/** Everything a test or the console may want to look at. */
export interface PageState {
  phase: Phase;
  engine: EngineInfo | null;
  model: ModelInfo | null;
  loadError: { message: string; tooBig: boolean; reads: ReadStats } | null;
  /** the exact spec of the last run (inputs included) */
  lastSpec: TaskSpec | null;
  /** the raw float result of the last run, [1, 3, H, W] before 8-bit conversion, and the library's record of it */
  result: { image: ImageData4; evals: number; seconds: number; parameters: Record<string, unknown> } | null;
  runError: string | null;
  previews: number;
  lostMessage: string | null;
  /** entries of the saved kernel-variant table sent with the last load (ui/variant_store.ts) */
  variantEntries: number;
  /** the CLIP tower the worker holds for style guidance (null: none chosen, or not loaded yet) */
  clip: ClipInfo | null;
  clipPhase: ClipPhase;
  clipError: string | null;
  /** loads CLIP weights as the pickers do */
  loadClip(choice: ClipChoice): void;
  /** the spec the Run button would send now (tests, console) */
  specNow(): TaskSpec;
  /** test hook: destroys the GPU device (device.lost fires) */
  loseDevice(): void;
  /** loads a model as the pickers do (console and tests: e.g. an OPFS directory handle) */
  loadModel(choice: ModelChoice): void;
}

const unwired = (): never => { throw new Error('the page is not started yet'); };

/** The functions are wired by main.ts. */
export const state: PageState = {
  phase: 'starting', engine: null, model: null, loadError: null, lastSpec: null, result: null, runError: null,
  previews: 0, lostMessage: null, variantEntries: 0, clip: null, clipPhase: 'none', clipError: null,
  loadClip: unwired, specNow: unwired, loseDevice: unwired, loadModel: unwired,
};
(window as unknown as { __tether: PageState }).__tether = state;

export const page = {
  /** the page's query: ?task=, ?autoload=0, ?f16=0, ?bindingLimit= */
  query: new URLSearchParams(location.search),
  worker: null as Worker | null,
  task: 'inpaint' as WebTask,
  /** the loaded model's VAE factor: sizes are multiples of it */
  factor: 8,
  lastChoice: null as ModelChoice | null,
  /** the pick the worker's CLIP tower came from (loaded again after a device loss), and the one loading */
  lastClipChoice: null as ClipChoice | null,
  pendingClipChoice: null as ClipChoice | null,
  runId: 0,
  activeRun: null as number | null,
  runStarted: 0,
  /** the input image as uploaded (any size); resized to the work size on demand */
  source: null as ImageBitmap | HTMLCanvasElement | null,
  sourceName: '',
  /** working size = the OUTPUT size in pixels */
  workW: 64,
  workH: 64,
  /** 1 = fill, at the output size */
  mask: new Uint8Array(64 * 64) as Uint8Array,
  /** where the mask came from, for the PNG metadata: a file's name, the sample's, 'painted' */
  maskName: '',
  brushErase: false,
  /** how the input image is fitted to the model (image tasks), for the caption */
  fit: null as ImageFit | null,
  /** the Sample button's pictures for the loaded model (null: the colourful one), and the next to show */
  samplesReady: Promise.resolve(null) as Promise<Sample[] | null>,
  sampleIndex: 0,
  /** the style reference as picked (any size) */
  styleSource: null as ImageBitmap | HTMLCanvasElement | null,
  styleName: '',
};
