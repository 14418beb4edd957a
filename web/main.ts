// The page: model picking, task settings, the input image with a mask brush, the style reference
// and CLIP weights of style guidance, progress with intermediate previews, and the result as a
// PNG. The engine runs in engine_worker.ts; this file only builds TaskSpecs and draws. window.__tether exposes state and raw results (tests, console).
import { rgbaToTensor, tensorToRgba } from '../src/pipeline/image.js';
import type { ImageData4, InpaintSpace } from '../src/pipeline/tasks.js';
import type { ClipChoice, ClipInfo, EngineInfo, FromWorker, ModelChoice, ModelInfo, ToWorker, WeightChoice } from './protocol.js';
import { NO_CLIP_MESSAGE, specProblems, takesStyle, TASK_DEFAULTS, TASK_LABELS, type TaskSpec, type WebTask } from './task_spec.js';
import type { ReadStats } from './model_files.js';
import { resultPng } from './ui/download.js';
import { entriesFromDirectoryEntry, entriesFromFileList, pickFolder } from './ui/folders.js';
import { readMaskFile, resizeMask } from './ui/mask_file.js';
import { runBlockers } from './ui/run_guard.js';
import { colourSample, modelSamples, sampleCanvas, type Sample } from './ui/samples.js';
import { fitImage, typedSizeProblem, usesTypedSize, type ImageFit } from './ui/sizes.js';

// ---------------------------------------------------------------------------------------------
// Elements and state

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const el = {
  adapter: $('adapter'), adapterText: $('adapter-text'),
  banner: $('banner'), bannerTitle: $('banner-title'), bannerText: $('banner-text'),
  bannerDetails: $<HTMLDetailsElement>('banner-details'), bannerPre: $('banner-pre'),
  bannerAction: $<HTMLButtonElement>('banner-action'), bannerClose: $<HTMLButtonElement>('banner-close'),
  loadDefault: $<HTMLButtonElement>('load-default'), openFolder: $<HTMLButtonElement>('open-folder'),
  openFile: $<HTMLButtonElement>('open-file'), folderInput: $<HTMLInputElement>('folder-input'),
  fileInput: $<HTMLInputElement>('file-input'), dropzone: $('dropzone'),
  weights: $<HTMLSelectElement>('weights'), singleConfig: $<HTMLSelectElement>('single-config'),
  loadProgress: $('load-progress'), modelStatus: $('model-status'), modelInfo: $('model-info'), modelBadge: $('model-badge'),
  tasks: $('tasks'), prompt: $<HTMLInputElement>('prompt'), negative: $<HTMLInputElement>('negative'),
  steps: $<HTMLInputElement>('steps'), K: $<HTMLInputElement>('K'), seed: $<HTMLInputElement>('seed'), dice: $<HTMLButtonElement>('dice'),
  guidance: $<HTMLInputElement>('guidance'), scale: $<HTMLSelectElement>('scale'), scaleRow: $('scale-row'),
  sigma: $<HTMLInputElement>('sigma'), sigmaRow: $('sigma-row'), width: $<HTMLInputElement>('width'), height: $<HTMLInputElement>('height'),
  sizeRow: $('size-row'), sizeMsg: $('size-msg'), runReason: $('run-reason'), lr: $<HTMLInputElement>('lr'), h: $<HTMLInputElement>('h'),
  schedule: $<HTMLSelectElement>('schedule'), method: $<HTMLSelectElement>('method'), previewEvery: $<HTMLInputElement>('preview-every'),
  inpaintSpace: $<HTMLSelectElement>('inpaint-space'), inpaintSpaceRow: $('inpaint-space-row'),
  run: $<HTMLButtonElement>('run'), cancel: $<HTMLButtonElement>('cancel'), runProgress: $('run-progress'), runStatus: $('run-status'),
  openImage: $<HTMLButtonElement>('open-image'), sampleImage: $<HTMLButtonElement>('sample-image'), imageInput: $<HTMLInputElement>('image-input'),
  inputCard: $('input-card'), inputCanvas: $<HTMLCanvasElement>('input-canvas'), maskCanvas: $<HTMLCanvasElement>('mask-canvas'),
  inputEmpty: $('input-empty'), inputCaption: $('input-caption'), maskTools: $('mask-tools'),
  brushPaint: $<HTMLButtonElement>('brush-paint'), brushErase: $<HTMLButtonElement>('brush-erase'), brushSize: $<HTMLInputElement>('brush-size'),
  maskClear: $<HTMLButtonElement>('mask-clear'), maskInvert: $<HTMLButtonElement>('mask-invert'),
  openMask: $<HTMLButtonElement>('open-mask'), maskInput: $<HTMLInputElement>('mask-input'),
  outputCanvas: $<HTMLCanvasElement>('output-canvas'), outputEmpty: $('output-empty'), outputCaption: $('output-caption'),
  download: $<HTMLAnchorElement>('download'),
  styleCard: $('style-card'), styleToggleRow: $('style-toggle-row'), styleOn: $<HTMLInputElement>('style-on'),
  styleThumb: $<HTMLCanvasElement>('style-thumb'), styleCaption: $('style-caption'), openStyleImage: $<HTMLButtonElement>('open-style-image'),
  styleImageInput: $<HTMLInputElement>('style-image-input'), styleWeight: $<HTMLInputElement>('style-weight'), styleWeightRow: $('style-weight-row'),
  openClipFile: $<HTMLButtonElement>('open-clip-file'), openClipFolder: $<HTMLButtonElement>('open-clip-folder'),
  clipFileInput: $<HTMLInputElement>('clip-file-input'), clipFolderInput: $<HTMLInputElement>('clip-folder-input'),
  clipStatus: $('clip-status'), clipBadge: $('clip-badge'),
};

type Phase = 'starting' | 'no-webgpu' | 'ready' | 'loading' | 'loaded' | 'running' | 'lost';

/** Everything a test or the console may want to look at. */
interface PageState {
  phase: Phase;
  engine: EngineInfo | null;
  model: ModelInfo | null;
  loadError: { message: string; tooBig: boolean; reads: ReadStats } | null;
  /** the exact spec of the last run (inputs included) */
  lastSpec: TaskSpec | null;
  /** the raw float result of the last run, [1, 3, H, W] before 8-bit conversion */
  result: { image: ImageData4; evals: number; calls: number; seconds: number } | null;
  runError: string | null;
  previews: number;
  lostMessage: string | null;
  /** the CLIP tower the worker holds for style guidance (null: none chosen, or not loaded yet) */
  clip: ClipInfo | null;
  clipPhase: 'none' | 'loading' | 'loaded' | 'error';
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

const params = new URLSearchParams(location.search);
const state: PageState = {
  phase: 'starting', engine: null, model: null, loadError: null, lastSpec: null, result: null, runError: null,
  previews: 0, lostMessage: null, loseDevice: () => send({ type: 'lose-device' }),
  clip: null, clipPhase: 'none', clipError: null, loadClip: (choice) => loadClip(choice), specNow: () => buildSpec(),
  loadModel: (choice) => loadModel(choice),
};
(window as unknown as { __tether: PageState }).__tether = state;

let task: WebTask = 'inpaint';
let factor = 8;
let lastChoice: ModelChoice | null = null;
/** the pick the worker's CLIP tower came from (loaded again after a device loss), and the one loading */
let lastClipChoice: ClipChoice | null = null;
let pendingClipChoice: ClipChoice | null = null;
let runId = 0;
let activeRun: number | null = null;
let runStarted = 0;

// ---------------------------------------------------------------------------------------------
// Messages to the user

function banner(title: string, text: string, opts: { warn?: boolean; action?: [string, () => void]; details?: string } = {}): void {
  el.bannerTitle.textContent = title;
  el.bannerText.textContent = text;
  el.bannerDetails.hidden = !opts.details;
  el.bannerDetails.open = false;
  el.bannerPre.textContent = opts.details ?? '';
  el.banner.classList.toggle('warn', Boolean(opts.warn));
  el.bannerAction.hidden = !opts.action;
  if (opts.action) {
    el.bannerAction.textContent = opts.action[0];
    el.bannerAction.onclick = opts.action[1];
  }
  el.banner.hidden = false;
}
function clearBanner(): void { el.banner.hidden = true; }

/** A long engine message -> its first line (plus a closing '(hint)' line), and the rest as details. */
function summarize(message: string): { text: string; details?: string } {
  const lines = message.split('\n');
  if (lines.length <= 3) return { text: message };
  const hint = lines[lines.length - 1]!.startsWith('(') ? `\n${lines[lines.length - 1]}` : '';
  return { text: lines[0]! + hint, details: message };
}
el.bannerClose.onclick = clearBanner;

function setProgress(box: HTMLElement, fraction: number | null): void {
  box.hidden = false;
  box.classList.toggle('indeterminate', fraction === null);
  (box.firstElementChild as HTMLElement).style.width = fraction === null ? '' : `${(100 * fraction).toFixed(1)}%`;
}

const MB = (b: number) => (b < 2 ** 20 ? `${(b / 1024).toFixed(b < 10 * 1024 ? 1 : 0)} kB` : `${(b / 2 ** 20).toFixed(b < 10 * 2 ** 20 ? 1 : 0)} MB`);
const secs = (s: number) => (s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`);

window.addEventListener('error', (e) => banner('Something went wrong', String(e.message || e.error)));
window.addEventListener('unhandledrejection', (e) => banner('Something went wrong', String((e.reason as Error)?.message ?? e.reason)));

// ---------------------------------------------------------------------------------------------
// The engine worker

let worker: Worker | null = null;

function send(msg: ToWorker): void { worker?.postMessage(msg); }

function startEngine(): void {
  worker?.terminate();
  state.phase = 'starting';
  state.engine = null;
  state.model = null;
  updateButtons();
  el.adapter.className = 'adapter';
  el.adapterText.textContent = 'Starting WebGPU…';
  if (!('gpu' in navigator)) {
    noWebGpu('This browser does not offer WebGPU (navigator.gpu is missing).');
    return;
  }
  worker = new Worker(new URL('./engine_worker.js', import.meta.url), { type: 'module', name: 'tether-engine' });
  worker.onmessage = (ev: MessageEvent<FromWorker>) => onWorker(ev.data);
  worker.onerror = (ev) => {
    ev.preventDefault();
    banner('The engine failed to start', ev.message || 'the worker script could not be loaded');
  };
  send({ type: 'init', disableF16: params.get('f16') === '0', bindingLimit: Number(params.get('bindingLimit')) || undefined });
}

function noWebGpu(detail: string): void {
  state.phase = 'no-webgpu';
  el.adapter.className = 'adapter bad';
  el.adapterText.textContent = 'No WebGPU';
  const secure = window.isSecureContext ? '' : '\nThis page is not a secure context: WebGPU needs https:// or http://localhost.';
  const sentence = detail.charAt(0).toUpperCase() + detail.slice(1) + (/[.!?]$/.test(detail) ? '' : '.');
  el.modelStatus.textContent = 'A model can be loaded once WebGPU is available.';
  banner('WebGPU is not available', `${sentence}${secure}\nUse a browser with WebGPU enabled (Chrome or Edge 113+, Safari 26+, ` +
    'Firefox 141+ on Windows), and make sure hardware acceleration is on. In Chrome on Linux, start it with ' +
    '--enable-unsafe-webgpu (and --enable-features=Vulkan).');
  updateButtons();
}

function onWorker(msg: FromWorker): void {
  switch (msg.type) {
    case 'ready': {
      state.engine = msg.info;
      state.phase = 'ready';
      const i = msg.info;
      el.adapter.className = `adapter ${i.isFallbackAdapter ? 'warn' : 'ok'}`;
      el.adapterText.textContent = `${i.adapter} · f16 ${i.f16Available ? 'available' : 'not available'}` +
        `${i.subgroups ? ` · subgroups ${i.subgroupMinSize || '?'}${i.subgroupMaxSize && i.subgroupMaxSize !== i.subgroupMinSize ? `–${i.subgroupMaxSize}` : ''}` : ''}`;
      el.adapter.title = `max buffer ${MB(i.limits.maxBufferSize)}, max storage binding ${MB(i.limits.maxStorageBufferBindingSize)}, ` +
        `${i.limits.maxComputeInvocationsPerWorkgroup} invocations/workgroup, ${i.limits.maxStorageBuffersPerShaderStage} storage buffers/stage`;
      updateButtons();
      if (lastClipChoice) loadClip(lastClipChoice);   // after a device loss: reload what was loaded
      if (lastChoice) loadModel(lastChoice);
      else if (params.get('autoload') !== '0') void loadDefaultIfServed();
      break;
    }
    case 'no-webgpu': noWebGpu(msg.message); break;
    case 'lost': {
      state.lostMessage = msg.message;
      state.phase = 'lost';
      state.model = null;
      state.clip = null;
      if (state.clipPhase === 'loaded' || state.clipPhase === 'loading') showClipStatus('none', 'The GPU device was lost: the CLIP weights are loaded again with the model.');
      if (activeRun !== null) finishRun();
      el.adapter.className = 'adapter bad';
      el.adapterText.textContent = 'GPU device lost';
      el.modelBadge.textContent = 'none';
      el.modelBadge.className = 'badge';
      el.modelStatus.textContent = 'The GPU device was lost; the model must be loaded again.';
      banner('The GPU device was lost', `${msg.message}\nThis happens when the GPU driver resets or the browser reclaims the GPU ` +
        '(for example after running out of GPU memory). Your settings and images are kept.',
      { action: ['Restart engine', () => { clearBanner(); startEngine(); }] });
      updateButtons();
      break;
    }
    case 'load-status':
      el.modelStatus.textContent = msg.text;
      el.modelStatus.classList.remove('bad');
      setProgress(el.loadProgress, msg.fraction);
      break;
    case 'loaded': onLoaded(msg.model); break;
    case 'load-error': {
      state.loadError = { message: msg.message, tooBig: msg.tooBig, reads: msg.reads };
      state.phase = state.phase === 'lost' ? 'lost' : 'ready';
      el.loadProgress.hidden = true;
      el.modelBadge.textContent = msg.tooBig ? 'too big' : 'error';
      el.modelBadge.className = 'badge';
      el.modelStatus.textContent = msg.tooBig ? 'The model is too big for this device.' : 'Could not load the model (see the message above).';
      el.modelStatus.classList.add('bad');
      const { text, details } = summarize(msg.message);
      if (msg.tooBig) {
        banner('This model is too big for this device', `${text}\nTry a smaller model, f16 weights on a GPU with shader-f16, ` +
          'or a device with more GPU memory.', { details });
      } else {
        banner('The model could not be loaded', text, { details });
      }
      updateButtons();
      break;
    }
    case 'clip-loaded': onClipLoaded(msg.clip); break;
    case 'clip-error': {
      state.clipError = msg.message;
      const { text, details } = summarize(msg.message);
      showClipStatus('error', `Could not load the CLIP weights: ${text}`);
      banner('The CLIP weights could not be loaded', text, { details });
      updateButtons();
      break;
    }
    case 'progress': onProgress(msg); break;
    case 'done': {
      if (msg.id !== activeRun) return;
      state.result = { image: msg.image, evals: msg.evals, calls: msg.calls, seconds: msg.seconds };
      showResult(msg.image, msg.seconds, msg.evals);
      finishRun(true);
      break;
    }
    case 'run-error': {
      if (msg.id !== activeRun) return;
      state.runError = msg.message;
      el.runStatus.textContent = msg.cancelled ? 'Cancelled.' : `Failed: ${msg.message.split('\n')[0]}`;
      el.runStatus.classList.toggle('bad', !msg.cancelled);
      if (!msg.cancelled && state.phase !== 'lost') banner('The task failed', summarize(msg.message).text, { details: summarize(msg.message).details });
      finishRun();
      break;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Models

async function loadDefaultIfServed(): Promise<void> {
  const res = await fetch('model/files.json', { method: 'HEAD' }).catch(() => null);
  if (res?.ok) loadModel({ kind: 'server', base: new URL('model/', location.href).href });
  else el.modelStatus.textContent = 'This server has no default model: open a diffusers folder or a .safetensors file.';
}

function loadModel(choice: ModelChoice): void {
  if (state.phase !== 'ready' && state.phase !== 'loaded') return;
  lastChoice = choice;
  state.phase = 'loading';
  state.model = null;
  state.loadError = null;
  el.modelStatus.classList.remove('bad');
  el.modelInfo.hidden = true;
  el.modelBadge.textContent = 'loading';
  el.modelBadge.className = 'badge';
  setProgress(el.loadProgress, null);
  updateButtons();
  send({ type: 'load', model: choice, weights: el.weights.value as WeightChoice });
}

function onLoaded(m: ModelInfo): void {
  state.model = m;
  state.phase = 'loaded';
  factor = m.factor;
  el.loadProgress.hidden = true;
  el.modelBadge.textContent = m.weightDtype;
  el.modelBadge.className = 'badge ok';
  el.modelStatus.textContent = `Loaded ${m.name} in ${secs(m.seconds)}.`;
  const facts: [string, string][] = [
    ['Model', `${m.name} (${m.kind === 'diffusers' ? 'diffusers folder' : 'single file'})`],
    ['Weights', `${m.weightDtype} on the GPU, ${MB(m.gpuBytes)} — ${m.weightWhy}`],
    ['Native size', `${m.nativeSize}×${m.nativeSize} px (VAE factor ${m.factor})`],
    ['Configs', m.configSource.replace(/^configs: /, '')],
    ['Reads', `${m.reads.reads} byte ranges, ${MB(m.reads.bytes)}; largest ${MB(m.reads.maxRead)}`],
  ];
  el.modelInfo.replaceChildren(...facts.flatMap(([k, v]) => {
    const dt = document.createElement('dt'); dt.textContent = k;
    const dd = document.createElement('dd'); dd.textContent = v;
    return [dt, dd];
  }));
  el.modelInfo.hidden = false;
  for (const i of [el.width, el.height]) { i.step = String(factor); i.min = String(factor); i.value = String(m.nativeSize); }
  samplesReady = lastChoice ? modelSamples(lastChoice) : Promise.resolve(null);   // the model's own test images, if any
  sampleIndex = 0;
  applySize();
}

el.loadDefault.onclick = () => loadModel({ kind: 'server', base: new URL('model/', location.href).href });
el.openFolder.onclick = () => pickFolder('tether-model', el.folderInput, (handle) => loadModel({ kind: 'directory', handle }));
el.folderInput.onchange = () => {
  if (el.folderInput.files?.length) loadModel({ kind: 'entries', entries: entriesFromFileList(el.folderInput.files) });
  el.folderInput.value = '';
};
el.openFile.onclick = () => el.fileInput.click();
el.fileInput.onchange = () => {
  const f = el.fileInput.files?.[0];
  if (f) loadSingleFile(f);
  el.fileInput.value = '';
};
function loadSingleFile(file: File): void {
  loadModel({ kind: 'single-file', file, config: el.singleConfig.value as 'file' | 'server', base: new URL('model/', location.href).href });
}

// Drag and drop: a folder (diffusers), a .safetensors file, or an image.
let dragDepth = 0;
window.addEventListener('dragenter', (e) => { e.preventDefault(); dragDepth++; document.body.classList.add('dragging'); });
window.addEventListener('dragleave', () => { if (--dragDepth <= 0) { dragDepth = 0; document.body.classList.remove('dragging'); } });
window.addEventListener('dragover', (e) => e.preventDefault());
window.addEventListener('drop', (e) => {
  e.preventDefault();
  dragDepth = 0;
  document.body.classList.remove('dragging');
  const items = Array.from(e.dataTransfer?.items ?? []).filter((i) => i.kind === 'file');
  if (!items.length) return;
  // Handles and entries must be taken synchronously, while the drop event lasts.
  const first = items[0]!;
  const handleP = (first as DataTransferItem & { getAsFileSystemHandle?: () => Promise<FileSystemHandle | null> }).getAsFileSystemHandle?.();
  const entry = first.webkitGetAsEntry?.();
  const file = first.getAsFile();
  void (async () => {
    const handle = await handleP?.catch(() => null);
    if (handle?.kind === 'directory') return loadModel({ kind: 'directory', handle: handle as FileSystemDirectoryHandle });
    if (entry?.isDirectory) return loadModel({ kind: 'entries', entries: await entriesFromDirectoryEntry(entry as FileSystemDirectoryEntry) });
    if (!file) return;
    if (/\.safetensors$/i.test(file.name)) return loadSingleFile(file);
    if (file.type.startsWith('image/')) return setImageFile(file);
    banner('Unsupported file', `${file.name}: drop a diffusers model folder, a .safetensors checkpoint, or an image.`, { warn: true });
  })();
});

// ---------------------------------------------------------------------------------------------
// Task settings

for (const t of Object.keys(TASK_LABELS) as WebTask[]) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'seg';
  b.dataset['task'] = t;
  b.textContent = TASK_LABELS[t];
  b.setAttribute('role', 'radio');
  b.onclick = () => selectTask(t);
  el.tasks.append(b);
}

function lrText(lr: number | [number, number]): string { return Array.isArray(lr) ? lr.join(':') : String(lr); }

function selectTask(t: WebTask): void {
  task = t;
  for (const b of el.tasks.querySelectorAll<HTMLButtonElement>('.seg')) {
    const on = b.dataset['task'] === t;
    b.classList.toggle('on', on);
    b.setAttribute('aria-checked', String(on));
  }
  const d = TASK_DEFAULTS[t];
  el.K.value = String(d.K);
  el.lr.value = lrText(d.lr);
  el.guidance.value = String(d.guidance);
  el.method.value = d.method;
  el.scaleRow.hidden = t !== 'superres';
  el.sigmaRow.hidden = t !== 'deblur';
  el.inpaintSpaceRow.hidden = t !== 'inpaint';
  const generates = t === 'generate' || t === 'style';
  el.inputCard.hidden = generates;
  el.maskTools.hidden = t !== 'inpaint';
  el.maskCanvas.hidden = t !== 'inpaint';
  el.sizeRow.hidden = !usesTypedSize(t);                // the other tasks work at their input image's size
  el.K.disabled = d.method === 'none';
  el.prompt.placeholder = generates ? 'e.g. a coat' : 'optional, e.g. a coat';
  el.styleCard.hidden = !takesStyle(t);
  el.styleToggleRow.hidden = t !== 'inpaint';           // 'style' always uses the reference
  el.styleWeightRow.hidden = t !== 'inpaint';           // the weight only matters against another constraint
  applySize();
}
el.method.onchange = () => { el.K.disabled = el.method.value === 'none' || el.method.value === 'replace'; };
el.dice.onclick = () => { el.seed.value = String(Math.floor(Math.random() * 2 ** 31)); };

function parseLr(v: string): number | [number, number] {
  const parts = v.split(':').map((s) => Number(s.trim()));
  if (parts.length === 1 && parts[0]! > 0) return parts[0]!;
  if (parts.length === 2 && parts[0]! > 0 && parts[1]! > 0) return [parts[0]!, parts[1]!];
  throw new Error(`Learning rate must be a positive number or 'from:to' (got '${v}').`);
}

// ---------------------------------------------------------------------------------------------
// Input image and mask

/** The image as uploaded (any size); resized to the work size on demand. */
let source: ImageBitmap | HTMLCanvasElement | null = null;
let sourceName = '';
/** working size = the OUTPUT size in pixels */
let workW = 64, workH = 64;
/** 1 = fill, at the output size */
let mask: Uint8Array = new Uint8Array(workW * workH);
/** where the mask came from, for the PNG metadata: a file's name, the sample's, 'painted' */
let maskName = '';
let brushErase = false;
/** how the input image is fitted to the model (image tasks), for the caption */
let fit: ImageFit | null = null;
/** the Sample button's pictures for the loaded model (null: the colourful one), and the next to show */
let samplesReady: Promise<Sample[] | null> = Promise.resolve(null);
let sampleIndex = 0;

function setWorkSize(w: number, h: number): void {
  mask = resizeMask(mask, workW, workH, w, h);           // only a task switch resizes it (superres <-> inpaint)
  workW = w; workH = h;
  redrawInput();
}
/** The work size: typed for generate and style (a wrong size is kept and named), else the input image's fit. */
function applySize(): void {
  const typed = usesTypedSize(task), problem = typedSizeProblem(el.width.value, el.height.value, factor);
  el.sizeMsg.textContent = typed && problem ? problem : '';
  fit = null;
  if (typed && !problem) setWorkSize(Number(el.width.value), Number(el.height.value));
  else if (!typed && source) {
    fit = fitImage(source.width, source.height, factor, state.model?.nativeSize ?? 64, task === 'superres' ? Number(el.scale.value) : 1);
    setWorkSize(fit.width, fit.height);
  } else redrawInput();
}
for (const i of [el.width, el.height]) i.oninput = () => applySize();
el.scale.onchange = () => applySize();

/** Size of the image the task observes: the output size, or output / scale for super-resolution. */
function observedSize(): [number, number] {
  if (task !== 'superres') return [workW, workH];
  const s = Number(el.scale.value);
  return [Math.max(1, Math.round(workW / s)), Math.max(1, Math.round(workH / s))];
}

/** An image resampled to w x h over white, as RGBA pixels. */
function imagePixels(img: ImageBitmap | HTMLCanvasElement, w: number, h: number): ImageData {
  const c = document.createElement('canvas');
  c.width = w; c.height = h;
  const g = c.getContext('2d', { willReadFrequently: true })!;
  g.imageSmoothingEnabled = true;
  g.imageSmoothingQuality = 'high';
  g.fillStyle = '#fff';
  g.fillRect(0, 0, w, h);
  g.drawImage(img, 0, 0, w, h);
  return g.getImageData(0, 0, w, h);
}

function imageCaption(): string {
  const [ow, oh] = observedSize();
  return `${sourceName} ${source!.width}×${source!.height} → ${ow}×${oh}${fit?.note ? ` (${fit.note})` : ''}` +
    `${task === 'superres' ? ` (low-resolution input, output ${workW}×${workH})` : ''}`;
}

function redrawInput(): void {
  const has = source !== null;
  el.inputEmpty.hidden = has;
  el.inputCanvas.hidden = !has;
  const [ow, oh] = observedSize();
  if (has) {
    el.inputCanvas.width = ow; el.inputCanvas.height = oh;
    el.inputCanvas.getContext('2d')!.putImageData(imagePixels(source!, ow, oh), 0, 0);
  }
  el.inputCaption.textContent = has ? imageCaption() : '';
  drawMask();
  updateButtons();
}

function drawMask(): void {
  const c = el.maskCanvas;
  c.width = workW; c.height = workH;
  const img = new ImageData(workW, workH);
  let n = 0;
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    n++;
    img.data[4 * i] = 255; img.data[4 * i + 1] = 64; img.data[4 * i + 2] = 96; img.data[4 * i + 3] = 150;
  }
  c.getContext('2d')!.putImageData(img, 0, 0);
  if (task === 'inpaint' && source) el.inputCaption.textContent = `${imageCaption()} · mask: ${n} of ${mask.length} pixels to fill`;
}

/** A picked image file decoded, or null after saying that this browser cannot decode it. */
async function decodeImage(file: File, what: string): Promise<ImageBitmap | null> {
  try {
    return await createImageBitmap(file);
  } catch {
    banner(`Could not read the ${what}`, `${file.name} is not an image this browser can decode.`, { warn: true });
    return null;
  }
}

/** `button` opens the hidden file `input`; the first file picked goes to `use` (the input is cleared, so the same file can be picked again). */
function filePicker(button: HTMLButtonElement, input: HTMLInputElement, use: (f: File) => void): void {
  button.onclick = () => input.click();
  input.onchange = () => {
    const f = input.files?.[0];
    if (f) use(f);
    input.value = '';
  };
}

/** A new input image: the previous mask never carries over to it (a sample brings its own). */
function setSource(img: ImageBitmap | HTMLCanvasElement, name: string, sample: Sample | null = null): void {
  source = img;
  sourceName = name;
  mask = new Uint8Array(workW * workH);
  maskName = sample ? `the box mask of ${name}` : '';
  applySize();
  if (sample) { mask = resizeMask(sample.fill, sample.width, sample.height, workW, workH); drawMask(); updateButtons(); }
}
async function setImageFile(file: File): Promise<void> {
  const bmp = await decodeImage(file, 'image');
  if (bmp) setSource(bmp, file.name);
}
filePicker(el.openImage, el.imageInput, (f) => void setImageFile(f));

/** The next sample of the model (ui/samples.ts), its mask, and its class as the prompt unless one was typed. */
el.sampleImage.onclick = async () => {
  const list = await samplesReady;
  const s = list ? list[sampleIndex++ % list.length]! : colourSample(256);
  if (s.prompt && (!el.prompt.value || list!.some((o) => o.prompt === el.prompt.value))) el.prompt.value = s.prompt;
  setSource(sampleCanvas(s), s.name, s);
};

// The brush: paints the mask at the output resolution; pointer positions are mapped through the
// canvas's object-fit: contain box.
function canvasPoint(e: PointerEvent): [number, number] {
  const r = el.maskCanvas.getBoundingClientRect();
  const s = Math.min(r.width / workW, r.height / workH);
  const ox = (r.width - workW * s) / 2, oy = (r.height - workH * s) / 2;
  return [(e.clientX - r.left - ox) / s, (e.clientY - r.top - oy) / s];
}
function stamp(cx: number, cy: number): void {
  const rad = Number(el.brushSize.value) * Math.max(workW, workH) / 128;
  const v = brushErase ? 0 : 1;
  for (let y = Math.max(0, Math.floor(cy - rad)); y <= Math.min(workH - 1, Math.ceil(cy + rad)); y++) {
    for (let x = Math.max(0, Math.floor(cx - rad)); x <= Math.min(workW - 1, Math.ceil(cx + rad)); x++) {
      if ((x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= rad * rad) mask[y * workW + x] = v;
    }
  }
}
let last: [number, number] | null = null;
el.maskCanvas.addEventListener('pointerdown', (e) => {
  el.maskCanvas.setPointerCapture(e.pointerId);
  last = canvasPoint(e);
  if (!maskName.endsWith('painted')) maskName = maskName ? `${maskName}, then painted` : 'painted';
  stamp(...last);
  drawMask();
});
el.maskCanvas.addEventListener('pointermove', (e) => {
  if (!last) return;
  const p = canvasPoint(e);
  const rad = Number(el.brushSize.value) * Math.max(workW, workH) / 128;
  const n = Math.max(1, Math.ceil(Math.hypot(p[0] - last[0], p[1] - last[1]) / Math.max(0.5, rad / 2)));
  for (let i = 1; i <= n; i++) stamp(last[0] + ((p[0] - last[0]) * i) / n, last[1] + ((p[1] - last[1]) * i) / n);
  last = p;
  drawMask();
});
for (const ev of ['pointerup', 'pointercancel'] as const) el.maskCanvas.addEventListener(ev, () => { last = null; updateButtons(); });
const setBrush = (erase: boolean) => {
  brushErase = erase;
  el.brushPaint.classList.toggle('on', !erase); el.brushPaint.setAttribute('aria-pressed', String(!erase));
  el.brushErase.classList.toggle('on', erase); el.brushErase.setAttribute('aria-pressed', String(erase));
};
el.brushPaint.onclick = () => setBrush(false);
el.brushErase.onclick = () => setBrush(true);
el.maskClear.onclick = () => { mask.fill(0); maskName = ''; drawMask(); updateButtons(); };
el.maskInvert.onclick = () => { for (let i = 0; i < mask.length; i++) mask[i] = mask[i] ? 0 : 1; drawMask(); updateButtons(); };
el.openMask.onclick = () => el.maskInput.click();
el.maskInput.onchange = async () => {
  const f = el.maskInput.files?.[0];
  el.maskInput.value = '';
  if (!f) return;
  if (!source) { banner('Choose the input image first', 'A mask file must have the size of the input image it belongs to.', { warn: true }); return; }
  try {
    // the CLI's rules (src/pipeline/mask_rules.ts); then scaled with the image when the image was fitted
    const fill = await readMaskFile(f, { name: sourceName, width: source.width, height: source.height });
    mask = resizeMask(fill, source.width, source.height, workW, workH);
    maskName = f.name;
    clearBanner();
    drawMask();
    updateButtons();
  } catch (e) {
    banner('Could not use the mask', (e as Error).message, { warn: true });
  }
};

// ---------------------------------------------------------------------------------------------
// Style guidance: the reference image and the CLIP weights (the CLI's --style-image and --clip)

/** The style reference as picked (any size). */
let styleSource: ImageBitmap | HTMLCanvasElement | null = null;
let styleName = '';
/** The longest side a reference is sent at: the CLIP tower resizes it to 224 px (ViT-B/16) anyway. */
const STYLE_MAX = 512;

function styleActive(): boolean { return task === 'style' || (task === 'inpaint' && el.styleOn.checked); }

/** The size the reference is sent at: as picked, or scaled down to STYLE_MAX on its long side. */
function styleSize(): [number, number] {
  const { width: w, height: h } = styleSource!;
  const s = Math.min(1, STYLE_MAX / Math.max(w, h));
  return [Math.max(1, Math.round(w * s)), Math.max(1, Math.round(h * s))];
}

function drawStyleThumb(): void {
  el.styleThumb.hidden = !styleSource;
  if (!styleSource) { el.styleCaption.textContent = 'No style reference chosen (any image, any size).'; return; }
  const { width: w, height: h } = styleSource;
  const s = Math.min(1, 192 / Math.max(w, h));          // shown at up to 96 CSS px, drawn at 2x
  const tw = Math.max(1, Math.round(w * s)), th = Math.max(1, Math.round(h * s));
  el.styleThumb.width = tw; el.styleThumb.height = th;
  el.styleThumb.getContext('2d')!.putImageData(imagePixels(styleSource, tw, th), 0, 0);
  const [sw, sh] = styleSize();
  el.styleCaption.textContent = `${styleName} · ${w}×${h}${sw !== w || sh !== h ? ` (sent at ${sw}×${sh})` : ''}`;
}

async function setStyleFile(file: File): Promise<void> {
  const bmp = await decodeImage(file, 'style reference');
  if (!bmp) return;
  styleSource = bmp;
  styleName = file.name;
  drawStyleThumb();
  updateButtons();
}
filePicker(el.openStyleImage, el.styleImageInput, (f) => void setStyleFile(f));
el.styleOn.onchange = () => updateButtons();

function showClipStatus(phase: PageState['clipPhase'], text: string): void {
  state.clipPhase = phase;
  el.clipStatus.textContent = text;
  el.clipStatus.classList.toggle('bad', phase === 'error');
  el.clipBadge.textContent = { none: 'no CLIP', loading: 'loading', loaded: 'CLIP f32', error: 'error' }[phase];
  el.clipBadge.className = phase === 'loaded' ? 'badge ok' : 'badge';
}
const NO_CLIP_STATUS = `No CLIP weights chosen. ${NO_CLIP_MESSAGE}`;

/** 22007040 -> '22.0M', 163904 -> '163.9k' */
const count = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : String(n));

function loadClip(choice: ClipChoice): void {
  if (state.phase !== 'ready' && state.phase !== 'loaded') return;
  pendingClipChoice = choice;
  state.clip = null;                                     // the worker frees the tower it had
  state.clipError = null;
  showClipStatus('loading', 'Loading the CLIP weights…');
  updateButtons();
  send({ type: 'load-clip', clip: choice });
}

function onClipLoaded(c: ClipInfo): void {
  state.clip = c;
  lastClipChoice = pendingClipChoice;
  const skipped = c.skipped.length ? c.skipped.map((g) => `${g.what} (${count(g.params)})`).join(', ') : 'nothing';
  showClipStatus('loaded', `${c.name}: ${count(c.params)} parameters loaded (${c.tensors} tensors: embeddings, encoder layers ` +
    `0..${c.layers - 1} of ${c.layersInFiles}; ${MB(c.gpuBytes)} f32) in ${secs(c.seconds)}; skipped, never read: ${skipped}. ` +
    `Config from ${c.configFrom}: ${c.imageSize} px, width ${c.hiddenSize}.`);
  updateButtons();
}

el.openClipFile.onclick = () => el.clipFileInput.click();
el.clipFileInput.onchange = () => {
  const files = Array.from(el.clipFileInput.files ?? []);
  if (files.length) loadClip({ kind: 'files', files });
  el.clipFileInput.value = '';
};
el.openClipFolder.onclick = () => pickFolder('tether-clip', el.clipFolderInput, (handle) => loadClip({ kind: 'directory', handle }));
el.clipFolderInput.onchange = () => {
  if (el.clipFolderInput.files?.length) loadClip({ kind: 'entries', entries: entriesFromFileList(el.clipFolderInput.files) });
  el.clipFolderInput.value = '';
};

// ---------------------------------------------------------------------------------------------
// Running

function buildSpec(): TaskSpec {
  const num = (i: HTMLInputElement) => Number(i.value);
  const spec: TaskSpec = {
    task,
    prompt: el.prompt.value,
    negativePrompt: el.negative.value,
    guidance: num(el.guidance),
    steps: num(el.steps),
    K: el.method.value === 'none' || el.method.value === 'replace' ? 0 : num(el.K),
    lr: parseLr(el.lr.value),
    h: num(el.h),
    schedule: el.schedule.value as TaskSpec['schedule'],
    method: el.method.value as TaskSpec['method'],
    seed: num(el.seed),
  };
  if (styleActive()) {
    if (styleSource) {
      const [w, h] = styleSize();
      spec.styleImage = { data: rgbaToTensor({ width: w, height: h, data: imagePixels(styleSource, w, h).data }), shape: [1, 3, h, w] };
    }
    if (task !== 'style') spec.styleWeight = num(el.styleWeight);
  }
  if (task === 'generate' || task === 'style') {
    spec.width = workW; spec.height = workH;
    return spec;
  }
  if (!source) return spec;
  const [ow, oh] = observedSize();
  const px = imagePixels(source, ow, oh);
  spec.image = { data: rgbaToTensor({ width: ow, height: oh, data: px.data }), shape: [1, 3, oh, ow] };
  if (task === 'superres') spec.scale = Number(el.scale.value);
  if (task === 'deblur') spec.blurSigma = num(el.sigma);
  if (task === 'inpaint') {
    const known = new Float32Array(mask.length);
    for (let i = 0; i < mask.length; i++) known[i] = mask[i] ? 0 : 1;
    spec.mask = { data: known, shape: [1, 1, workH, workW] };
    spec.inpaintSpace = el.inpaintSpace.value as InpaintSpace;
  }
  return spec;
}

function updateButtons(): void {
  const idle = state.phase === 'ready' || state.phase === 'loaded';
  for (const b of [el.loadDefault, el.openFolder, el.openFile]) b.disabled = !idle;
  // the CLIP tower is replaced only between runs (a run holds it); a style run waits for its load
  for (const b of [el.openClipFile, el.openClipFolder]) b.disabled = !idle || state.clipPhase === 'loading';
  const blockers = runBlockers({
    phase: state.phase, task, hasImage: source !== null, maskPixels: mask.reduce((a, v) => a + v, 0),
    sizeProblem: usesTypedSize(task) ? typedSizeProblem(el.width.value, el.height.value, factor) : null,
    styleActive: styleActive(), hasStyleImage: styleSource !== null, clipPhase: state.clipPhase,
  });
  el.run.disabled = blockers.length > 0;
  // while the engine starts, a model loads or a task runs, their own status lines say so
  el.runReason.textContent = ['starting', 'loading', 'running'].includes(state.phase) ? '' : blockers.join(' ');
  el.cancel.disabled = state.phase !== 'running';
}

el.run.onclick = () => {
  let spec: TaskSpec;
  try {
    spec = buildSpec();
  } catch (e) {
    banner('Check the settings', (e as Error).message, { warn: true });
    return;
  }
  const problems = specProblems(spec, factor, state.clip !== null);
  if (problems.length) { banner('Check the settings', problems.join('\n'), { warn: true }); return; }
  clearBanner();
  state.lastSpec = spec;
  state.result = null;
  state.runError = null;
  state.previews = 0;
  state.phase = 'running';
  activeRun = ++runId;
  runStarted = performance.now();
  clearOutput();                                        // the previous result must not pass for this run's
  el.runStatus.classList.remove('bad');
  el.runStatus.textContent = 'Starting… (the first run compiles the GPU kernels)';
  setProgress(el.runProgress, 0);
  updateButtons();
  const every = Math.max(0, Math.round(Number(el.previewEvery.value) || 0));
  // the spec is cloned into the worker; window.__tether.lastSpec keeps the page's copy
  send({ type: 'run', id: activeRun, spec, previewEvery: every });
};
el.cancel.onclick = () => {
  if (activeRun === null) return;
  send({ type: 'cancel', id: activeRun });
  el.runStatus.textContent = 'Cancelling…';
  el.cancel.disabled = true;
};

function onProgress(msg: Extract<FromWorker, { type: 'progress' }>): void {
  if (msg.id !== activeRun) return;
  setProgress(el.runProgress, msg.step / msg.steps);
  const elapsed = (performance.now() - runStarted) / 1000;
  const eta = msg.step > 0 ? (elapsed / msg.step) * (msg.steps - msg.step) : 0;
  el.runStatus.textContent = `Step ${msg.step} of ${msg.steps} · ${msg.evals} UNet evaluations · ${secs(elapsed)}` +
    (msg.step < msg.steps ? ` · about ${secs(eta)} left` : ' · decoding…');
  if (msg.preview) {
    state.previews++;
    const { rgba, width, height } = msg.preview;
    drawOutput(new ImageData(new Uint8ClampedArray(rgba), width, height));
    el.outputCaption.textContent = `Predicted image at step ${msg.step} of ${msg.steps}`;
  }
}

function clearOutput(): void {
  el.download.hidden = true;
  el.outputCanvas.width = el.outputCanvas.height = 1;
  el.outputCanvas.getContext('2d')!.clearRect(0, 0, 1, 1);
  el.outputEmpty.hidden = false;
  el.outputCaption.textContent = '';
}

function drawOutput(img: ImageData): void {
  el.outputCanvas.width = img.width;
  el.outputCanvas.height = img.height;
  el.outputCanvas.getContext('2d')!.putImageData(img, 0, 0);
  el.outputEmpty.hidden = true;
}

function showResult(image: ImageData4, seconds: number, evals: number): void {
  const [, c, H, W] = image.shape;
  const rgba = tensorToRgba(image.data, c, H, W);
  drawOutput(new ImageData(new Uint8ClampedArray(rgba.data), W, H));
  el.outputCaption.textContent = `Result ${W}×${H} · ${TASK_LABELS[task]} · seed ${state.lastSpec?.seed} · ${evals} UNet evaluations in ${secs(seconds)}`;
  el.runStatus.textContent = `Done in ${secs(seconds)}.`;
  setProgress(el.runProgress, 1);
  const spec = state.lastSpec!, id = activeRun;
  const inputs = { image: spec.image ? sourceName : undefined, mask: spec.mask ? maskName : undefined, style_image: spec.styleImage ? styleName : undefined };
  void resultPng(el.outputCanvas, spec, { model: state.model!.name, weightDtype: state.model!.weightDtype, adapter: state.engine!.adapter, inputs }).then((blob) => {
    if (id !== runId) return;                                        // a newer run started meanwhile
    if (el.download.href) URL.revokeObjectURL(el.download.href);
    el.download.href = URL.createObjectURL(blob);
    el.download.download = `tether-${spec.task}-seed${spec.seed}.png`;
    el.download.hidden = false;
  });
}

/** Ends the active run; the progress bar stays (full) only after a result. */
function finishRun(succeeded = false): void {
  activeRun = null;
  if (state.phase === 'running') state.phase = 'loaded';
  if (!succeeded) el.runProgress.hidden = true;
  updateButtons();
}

// ---------------------------------------------------------------------------------------------
// Start

showClipStatus('none', NO_CLIP_STATUS);
selectTask((params.get('task') as WebTask | null) && params.get('task')! in TASK_LABELS ? params.get('task') as WebTask : 'inpaint');
startEngine();
