// The mask of inpainting: painted with the brush at the output resolution (pointer positions are
// mapped through the canvas's object-fit: contain box), cleared, inverted, or read from a file by
// the CLI's rules (src/pipeline/mask_rules.ts via ui/mask_file.ts).
import { el } from './elements.js';
import { drawMask } from './image_input.js';
import { readMaskFile, resizeMask } from './mask_file.js';
import { banner, clearBanner } from './messages.js';
import { updateButtons } from './run.js';
import { page } from './state.js';

function canvasPoint(e: PointerEvent): [number, number] {
  const r = el.maskCanvas.getBoundingClientRect();
  const s = Math.min(r.width / page.workW, r.height / page.workH);
  const ox = (r.width - page.workW * s) / 2, oy = (r.height - page.workH * s) / 2;
  return [(e.clientX - r.left - ox) / s, (e.clientY - r.top - oy) / s];
}

/** The brush radius in work pixels: the slider is in 1/128 of the long side, so it suits any size. */
const radius = () => Number(el.brushSize.value) * Math.max(page.workW, page.workH) / 128;

function stamp(cx: number, cy: number): void {
  const { workW, workH, mask } = page;
  const rad = radius();
  const v = page.brushErase ? 0 : 1;
  for (let y = Math.max(0, Math.floor(cy - rad)); y <= Math.min(workH - 1, Math.ceil(cy + rad)); y++) {
    for (let x = Math.max(0, Math.floor(cx - rad)); x <= Math.min(workW - 1, Math.ceil(cx + rad)); x++) {
      if ((x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= rad * rad) mask[y * workW + x] = v;
    }
  }
}

function setBrush(erase: boolean): void {
  page.brushErase = erase;
  el.brushPaint.classList.toggle('on', !erase); el.brushPaint.setAttribute('aria-pressed', String(!erase));
  el.brushErase.classList.toggle('on', erase); el.brushErase.setAttribute('aria-pressed', String(erase));
}

async function useMaskFile(f: File): Promise<void> {
  const src = page.source;
  if (!src) { banner('Choose the input image first', 'A mask file must have the size of the input image it belongs to.', { warn: true }); return; }
  try {
    // the CLI's rules; then scaled with the image when the image was fitted
    const fill = await readMaskFile(f, { name: page.sourceName, width: src.width, height: src.height });
    page.mask = resizeMask(fill, src.width, src.height, page.workW, page.workH);
    page.maskName = f.name;
    clearBanner();
    drawMask();
    updateButtons();
  } catch (e) {
    banner('Could not use the mask', (e as Error).message, { warn: true });
  }
}

export function initMaskBrush(): void {
  // the last pointer position of a stroke (null: no stroke): a stroke is stamped along its path
  let last: [number, number] | null = null;
  el.maskCanvas.addEventListener('pointerdown', (e) => {
    el.maskCanvas.setPointerCapture(e.pointerId);
    last = canvasPoint(e);
    if (!page.maskName.endsWith('painted')) page.maskName = page.maskName ? `${page.maskName}, then painted` : 'painted';
    stamp(...last);
    drawMask();
  });
  el.maskCanvas.addEventListener('pointermove', (e) => {
    if (!last) return;
    const p = canvasPoint(e);
    const n = Math.max(1, Math.ceil(Math.hypot(p[0] - last[0], p[1] - last[1]) / Math.max(0.5, radius() / 2)));
    for (let i = 1; i <= n; i++) stamp(last[0] + ((p[0] - last[0]) * i) / n, last[1] + ((p[1] - last[1]) * i) / n);
    last = p;
    drawMask();
  });
  for (const ev of ['pointerup', 'pointercancel'] as const) el.maskCanvas.addEventListener(ev, () => { last = null; updateButtons(); });
  el.brushPaint.onclick = () => setBrush(false);
  el.brushErase.onclick = () => setBrush(true);
  el.maskClear.onclick = () => { page.mask.fill(0); page.maskName = ''; drawMask(); updateButtons(); };
  el.maskInvert.onclick = () => { const m = page.mask; for (let i = 0; i < m.length; i++) m[i] = m[i] ? 0 : 1; drawMask(); updateButtons(); };
  el.openMask.onclick = () => el.maskInput.click();
  el.maskInput.onchange = () => {
    const f = el.maskInput.files?.[0];
    el.maskInput.value = '';
    if (f) void useMaskFile(f);
  };
}
