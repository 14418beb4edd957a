// Choosing and loading a model: the default one served beside the page, a diffusers folder
// (picker, <input webkitdirectory>, drag and drop) or a single .safetensors file; what the page
// shows once it is loaded. The saved kernel-variant table of this adapter goes with each load.
import type { ModelChoice, ModelInfo, WeightChoice } from '../protocol.js';
import { el } from './elements.js';
import { send } from './engine.js';
import { entriesFromDirectoryEntry, entriesFromFileList, pickFolder } from './folders.js';
import { applySize, setImageFile } from './image_input.js';
import { banner, MB, secs, setProgress } from './messages.js';
import { updateButtons } from './run.js';
import { modelSamples } from './samples.js';
import { page, state } from './state.js';
import { loadVariantTable, variantEntries } from './variant_store.js';

const servedBase = () => new URL('model/', location.href).href;
const served = (): ModelChoice => ({ kind: 'server', base: servedBase() });

export async function loadDefaultIfServed(): Promise<void> {
  const res = await fetch('model/files.json', { method: 'HEAD' }).catch(() => null);
  if (res?.ok) loadModel(served());
  else el.modelStatus.textContent = 'This server has no default model: open a diffusers folder or a .safetensors file.';
}

export function loadModel(choice: ModelChoice): void {
  if (state.phase !== 'ready' && state.phase !== 'loaded') return;
  page.lastChoice = choice;
  state.phase = 'loading';
  state.model = null;
  state.loadError = null;
  el.modelStatus.classList.remove('bad');
  el.modelInfo.hidden = true;
  el.modelBadge.textContent = 'loading';
  el.modelBadge.className = 'badge';
  setProgress(el.loadProgress, null);
  updateButtons();
  const variantTable = state.engine ? loadVariantTable(state.engine.adapter) : null;
  state.variantEntries = variantEntries(variantTable);
  send({ type: 'load', model: choice, weights: el.weights.value as WeightChoice, variantTable });
}

export function onLoaded(m: ModelInfo): void {
  state.model = m;
  state.phase = 'loaded';
  page.factor = m.factor;
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
  for (const i of [el.width, el.height]) { i.step = String(m.factor); i.min = String(m.factor); i.value = String(m.nativeSize); }
  page.samplesReady = page.lastChoice ? modelSamples(page.lastChoice) : Promise.resolve(null);   // the model's own test images, if any
  page.sampleIndex = 0;
  applySize();
}

function loadSingleFile(file: File): void {
  loadModel({ kind: 'single-file', file, config: el.singleConfig.value as 'file' | 'server', base: servedBase() });
}

/** Drag and drop anywhere on the page: a folder (diffusers), a .safetensors file, or an image. */
function initDrop(): void {
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
}

export function initModels(): void {
  el.loadDefault.onclick = () => loadModel(served());
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
  initDrop();
}
