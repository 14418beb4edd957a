// Style guidance: the reference image and the CLIP weights (the CLI's --style-image and --clip).
// No CLIP weights ship with Tether: the user picks them, the worker loads and keeps the tower.
import type { ClipChoice, ClipInfo } from '../protocol.js';
import { NO_CLIP_MESSAGE } from '../task_spec.js';
import { el } from './elements.js';
import { send } from './engine.js';
import { entriesFromFileList, pickFolder } from './folders.js';
import { decodeImage, filePicker, imagePixels } from './image_input.js';
import { count, MB, secs } from './messages.js';
import { updateButtons } from './run.js';
import { page, state, type ClipPhase } from './state.js';
import { TASKS } from '../../src/pipeline/task_registry.js';

/** The longest side a reference is sent at: the CLIP tower resizes it to 224 px (ViT-B/16) anyway. */
const STYLE_MAX = 512;

/** Whether the run takes the reference: always where the task requires one, else where the option is ticked. */
export function styleActive(): boolean {
  const s = TASKS[page.task].needs.styleImage;
  return s === 'required' || (s === 'optional' && el.styleOn.checked);
}

/** The size the reference is sent at: as picked, or scaled down to STYLE_MAX on its long side. */
export function styleSize(): [number, number] {
  const { width: w, height: h } = page.styleSource!;
  const s = Math.min(1, STYLE_MAX / Math.max(w, h));
  return [Math.max(1, Math.round(w * s)), Math.max(1, Math.round(h * s))];
}

function drawStyleThumb(): void {
  const src = page.styleSource;
  el.styleThumb.hidden = !src;
  if (!src) { el.styleCaption.textContent = 'No style reference chosen (any image, any size).'; return; }
  const { width: w, height: h } = src;
  const s = Math.min(1, 192 / Math.max(w, h));          // shown at up to 96 CSS px, drawn at 2x
  const tw = Math.max(1, Math.round(w * s)), th = Math.max(1, Math.round(h * s));
  el.styleThumb.width = tw; el.styleThumb.height = th;
  el.styleThumb.getContext('2d')!.putImageData(imagePixels(src, tw, th), 0, 0);
  const [sw, sh] = styleSize();
  el.styleCaption.textContent = `${page.styleName} · ${w}×${h}${sw !== w || sh !== h ? ` (sent at ${sw}×${sh})` : ''}`;
}

async function setStyleFile(file: File): Promise<void> {
  const bmp = await decodeImage(file, 'style reference');
  if (!bmp) return;
  page.styleSource = bmp;
  page.styleName = file.name;
  drawStyleThumb();
  updateButtons();
}

export function showClipStatus(phase: ClipPhase, text: string): void {
  state.clipPhase = phase;
  el.clipStatus.textContent = text;
  el.clipStatus.classList.toggle('bad', phase === 'error');
  el.clipBadge.textContent = { none: 'no CLIP', loading: 'loading', loaded: 'CLIP f32', error: 'error' }[phase];
  el.clipBadge.className = phase === 'loaded' ? 'badge ok' : 'badge';
}

export function loadClip(choice: ClipChoice): void {
  if (state.phase !== 'ready' && state.phase !== 'loaded') return;
  page.pendingClipChoice = choice;
  state.clip = null;                                     // the worker frees the tower it had
  state.clipError = null;
  showClipStatus('loading', 'Loading the CLIP weights…');
  updateButtons();
  send({ type: 'load-clip', clip: choice });
}

export function onClipLoaded(c: ClipInfo): void {
  state.clip = c;
  page.lastClipChoice = page.pendingClipChoice;
  const skipped = c.skipped.length ? c.skipped.map((g) => `${g.what} (${count(g.params)})`).join(', ') : 'nothing';
  showClipStatus('loaded', `${c.name}: ${count(c.params)} parameters loaded (${c.tensors} tensors: embeddings, encoder layers ` +
    `0..${c.layers - 1} of ${c.layersInFiles}; ${MB(c.gpuBytes)} f32) in ${secs(c.seconds)}; skipped, never read: ${skipped}. ` +
    `Config from ${c.configFrom}: ${c.imageSize} px, width ${c.hiddenSize}.`);
  updateButtons();
}

export function initStyle(): void {
  filePicker(el.openStyleImage, el.styleImageInput, (f) => void setStyleFile(f));
  el.styleOn.onchange = () => updateButtons();
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
  showClipStatus('none', `No CLIP weights chosen. ${NO_CLIP_MESSAGE}`);
}
