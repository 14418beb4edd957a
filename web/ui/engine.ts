// The engine worker (engine_worker.ts): starting it, the messages to it, and what the page does
// with each message back. Every other module talks to the worker through send().
import type { FromWorker, ToWorker } from '../protocol.js';
import { el } from './elements.js';
import { banner, clearBanner, MB, setProgress, summarize } from './messages.js';
import { loadDefaultIfServed, loadModel, onLoaded } from './models.js';
import { finishRun, onProgress, showResult, updateButtons } from './run.js';
import { page, state } from './state.js';
import { loadClip, onClipLoaded, showClipStatus } from './style.js';
import { saveVariantTable } from './variant_store.js';

export function send(msg: ToWorker): void { page.worker?.postMessage(msg); }

export function startEngine(): void {
  page.worker?.terminate();
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
  const worker = new Worker(new URL('./engine_worker.js', import.meta.url), { type: 'module', name: 'tether-engine' });
  page.worker = worker;
  worker.onmessage = (ev: MessageEvent<FromWorker>) => onWorker(ev.data);
  worker.onerror = (ev) => {
    ev.preventDefault();
    banner('The engine failed to start', ev.message || 'the worker script could not be loaded');
  };
  send({ type: 'init', disableF16: page.query.get('f16') === '0', bindingLimit: Number(page.query.get('bindingLimit')) || undefined });
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

function onReady(i: NonNullable<typeof state.engine>): void {
  state.engine = i;
  state.phase = 'ready';
  el.adapter.className = `adapter ${i.isFallbackAdapter ? 'warn' : 'ok'}`;
  el.adapterText.textContent = `${i.adapter} · f16 ${i.f16Available ? 'available' : 'not available'}` +
    `${i.subgroups ? ` · subgroups ${i.subgroupMinSize || '?'}${i.subgroupMaxSize && i.subgroupMaxSize !== i.subgroupMinSize ? `–${i.subgroupMaxSize}` : ''}` : ''}`;
  el.adapter.title = `max buffer ${MB(i.limits.maxBufferSize)}, max storage binding ${MB(i.limits.maxStorageBufferBindingSize)}, ` +
    `${i.limits.maxComputeInvocationsPerWorkgroup} invocations/workgroup, ${i.limits.maxStorageBuffersPerShaderStage} storage buffers/stage`;
  updateButtons();
  if (page.lastClipChoice) loadClip(page.lastClipChoice);   // after a device loss: reload what was loaded
  if (page.lastChoice) loadModel(page.lastChoice);
  else if (page.query.get('autoload') !== '0') void loadDefaultIfServed();
}

function onLost(message: string): void {
  state.lostMessage = message;
  state.phase = 'lost';
  state.model = null;
  state.clip = null;
  if (state.clipPhase === 'loaded' || state.clipPhase === 'loading') showClipStatus('none', 'The GPU device was lost: the CLIP weights are loaded again with the model.');
  if (page.activeRun !== null) finishRun();
  el.adapter.className = 'adapter bad';
  el.adapterText.textContent = 'GPU device lost';
  el.modelBadge.textContent = 'none';
  el.modelBadge.className = 'badge';
  el.modelStatus.textContent = 'The GPU device was lost; the model must be loaded again.';
  banner('The GPU device was lost', `${message}\nThis happens when the GPU driver resets or the browser reclaims the GPU ` +
    '(for example after running out of GPU memory). Your settings and images are kept.',
  { action: ['Restart engine', () => { clearBanner(); startEngine(); }] });
  updateButtons();
}

function onLoadError(msg: Extract<FromWorker, { type: 'load-error' }>): void {
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
}

function onWorker(msg: FromWorker): void {
  switch (msg.type) {
    case 'ready': onReady(msg.info); break;
    case 'no-webgpu': noWebGpu(msg.message); break;
    case 'lost': onLost(msg.message); break;
    case 'load-status':
      el.modelStatus.textContent = msg.text;
      el.modelStatus.classList.remove('bad');
      setProgress(el.loadProgress, msg.fraction);
      break;
    case 'loaded': onLoaded(msg.model); break;
    case 'load-error': onLoadError(msg); break;
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
      // kept even when the run is stale: its choices are made, and the next run on this adapter repeats them
      const unsaved = state.engine ? saveVariantTable(state.engine.adapter, msg.variantTable) : null;
      if (unsaved) console.warn(unsaved);
      if (msg.id !== page.activeRun) return;
      state.result = { image: msg.image, evals: msg.evals, seconds: msg.seconds, parameters: msg.parameters };
      showResult(msg.image, msg.seconds, msg.evals);
      finishRun(true);
      break;
    }
    case 'run-error': {
      if (msg.id !== page.activeRun) return;
      state.runError = msg.message;
      el.runStatus.textContent = msg.cancelled ? 'Cancelled.' : `Failed: ${msg.message.split('\n')[0]}`;
      el.runStatus.classList.toggle('bad', !msg.cancelled);
      if (!msg.cancelled && state.phase !== 'lost') banner('The task failed', summarize(msg.message).text, { details: summarize(msg.message).details });
      finishRun();
      break;
    }
  }
}
