// Running: the spec the controls describe (a PipelineRequest as plain data, web/task_spec.ts),
// whether Run may start and why not, the table's rules checked on Run, progress with previews,
// and the result with its PNG download.
import { TASKS } from '../../src/pipeline/task_registry.js';
import { rgbaToTensor, tensorToRgba } from '../../src/pipeline/image.js';
import type { ImageData4, InpaintSpace } from '../../src/pipeline/tasks.js';
import type { FromWorker } from '../protocol.js';
import { specProblems, TASK_LABELS, type TaskSpec } from '../task_spec.js';
import { resultPng } from './download.js';
import { el } from './elements.js';
import { send } from './engine.js';
import { imagePixels, observedSize } from './image_input.js';
import { banner, clearBanner, secs, setProgress } from './messages.js';
import { runBlockers } from './run_guard.js';
import { typedSizeProblem, usesTypedSize } from './sizes.js';
import { page, state } from './state.js';
import { styleActive, styleSize } from './style.js';
import { parseLr } from './task_settings.js';

export function buildSpec(): TaskSpec {
  const num = (i: HTMLInputElement) => Number(i.value);
  const task = page.task, def = TASKS[task];
  const spec: TaskSpec = {
    task,
    prompt: el.prompt.value,
    negativePrompt: el.negative.value,
    guidance: num(el.guidance),
    steps: num(el.steps),
    K: el.method.value === 'none' || el.method.value === 'replace' ? 0 : el.autoK.checked ? 'auto' : num(el.K),
    lr: parseLr(el.lr.value),
    h: num(el.h),
    schedule: el.schedule.value as TaskSpec['schedule'],
    method: el.method.value as TaskSpec['method'],
    seed: num(el.seed),
  };
  if (styleActive()) {
    if (page.styleSource) {
      const [w, h] = styleSize();
      spec.styleImage = { data: rgbaToTensor({ width: w, height: h, data: imagePixels(page.styleSource, w, h).data }), shape: [1, 3, h, w] };
    }
    if (def.needs.styleImage === 'optional') spec.styleWeight = num(el.styleWeight);
  }
  if (def.needs.size) {
    spec.width = page.workW; spec.height = page.workH;
    return spec;
  }
  if (!page.source) return spec;
  const [ow, oh] = observedSize();
  const px = imagePixels(page.source, ow, oh);
  spec.image = { data: rgbaToTensor({ width: ow, height: oh, data: px.data }), shape: [1, 3, oh, ow] };
  if ('scale' in def.extra) spec.scale = Number(el.scale.value);
  if ('blurSigma' in def.extra) spec.blurSigma = num(el.sigma);
  if ('inpaintSpace' in def.extra) spec.inpaintSpace = el.inpaintSpace.value as InpaintSpace;
  if (def.needs.mask) {
    const { mask } = page;                               // the page's mask is 1 = fill; the request's 1 = known
    const known = new Float32Array(mask.length);
    for (let i = 0; i < mask.length; i++) known[i] = mask[i] ? 0 : 1;
    spec.mask = { data: known, shape: [1, 1, page.workH, page.workW] };
  }
  return spec;
}

export function updateButtons(): void {
  const idle = state.phase === 'ready' || state.phase === 'loaded';
  for (const b of [el.loadDefault, el.openFolder, el.openFile]) b.disabled = !idle;
  // the CLIP tower is replaced only between runs (a run holds it); a style run waits for its load
  for (const b of [el.openClipFile, el.openClipFolder]) b.disabled = !idle || state.clipPhase === 'loading';
  const blockers = runBlockers({
    phase: state.phase, task: page.task, hasImage: page.source !== null, maskPixels: page.mask.reduce((a, v) => a + v, 0),
    sizeProblem: usesTypedSize(page.task) ? typedSizeProblem(el.width.value, el.height.value, page.factor) : null,
    styleActive: styleActive(), hasStyleImage: page.styleSource !== null, clipPhase: state.clipPhase,
  });
  el.run.disabled = blockers.length > 0;
  // while the engine starts, a model loads or a task runs, their own status lines say so
  el.runReason.textContent = ['starting', 'loading', 'running'].includes(state.phase) ? '' : blockers.join(' ');
  el.cancel.disabled = state.phase !== 'running';
}

function startRun(): void {
  let spec: TaskSpec;
  try {
    spec = buildSpec();
  } catch (e) {
    banner('Check the settings', (e as Error).message, { warn: true });
    return;
  }
  const problems = specProblems(spec, page.factor, state.clip !== null);
  if (problems.length) { banner('Check the settings', problems.join('\n'), { warn: true }); return; }
  clearBanner();
  state.lastSpec = spec;
  state.result = null;
  state.runError = null;
  state.previews = 0;
  state.phase = 'running';
  const id = page.activeRun = ++page.runId;
  page.runStarted = performance.now();
  clearOutput();                                        // the previous result must not pass for this run's
  el.runStatus.classList.remove('bad');
  el.runStatus.textContent = 'Starting… (the first run compiles the GPU kernels)';
  setProgress(el.runProgress, 0);
  updateButtons();
  const every = Math.max(0, Math.round(Number(el.previewEvery.value) || 0));
  // the spec is cloned into the worker; window.__tether.lastSpec keeps the page's copy
  send({ type: 'run', id, spec, previewEvery: every });
}

export function onProgress(msg: Extract<FromWorker, { type: 'progress' }>): void {
  if (msg.id !== page.activeRun) return;
  setProgress(el.runProgress, msg.step / msg.steps);
  const elapsed = (performance.now() - page.runStarted) / 1000;
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

export function showResult(image: ImageData4, seconds: number, evals: number): void {
  const [, c, H, W] = image.shape;
  const spec = state.lastSpec!, id = page.activeRun;
  const rgba = tensorToRgba(image.data, c, H, W);
  drawOutput(new ImageData(new Uint8ClampedArray(rgba.data), W, H));
  el.outputCaption.textContent = `Result ${W}×${H} · ${TASK_LABELS[spec.task]} · seed ${spec.seed} · ${evals} UNet evaluations in ${secs(seconds)}`;
  el.runStatus.textContent = `Done in ${secs(seconds)}.`;
  setProgress(el.runProgress, 1);
  const inputs = { image: spec.image ? page.sourceName : undefined, mask: spec.mask ? page.maskName : undefined, style_image: spec.styleImage ? page.styleName : undefined };
  void resultPng(el.outputCanvas, spec, { model: state.model!.name, weightDtype: state.model!.weightDtype, adapter: state.engine!.adapter, inputs }).then((blob) => {
    if (id !== page.runId) return;                                   // a newer run started meanwhile
    if (el.download.href) URL.revokeObjectURL(el.download.href);
    el.download.href = URL.createObjectURL(blob);
    el.download.download = `tether-${spec.task}-seed${spec.seed}.png`;
    el.download.hidden = false;
  });
}

/** Ends the active run; the progress bar stays (full) only after a result. */
export function finishRun(succeeded = false): void {
  page.activeRun = null;
  if (state.phase === 'running') state.phase = 'loaded';
  if (!succeeded) el.runProgress.hidden = true;
  updateButtons();
}

export function initRun(): void {
  el.run.onclick = startRun;
  el.cancel.onclick = () => {
    if (page.activeRun === null) return;
    send({ type: 'cancel', id: page.activeRun });
    el.runStatus.textContent = 'Cancelling…';
    el.cancel.disabled = true;
  };
}
