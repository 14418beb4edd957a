// The input image: picked, dropped or a Sample; fitted to the model (ui/sizes.ts), drawn with its
// mask over it, and its caption. The work size is the OUTPUT size: typed for the tasks that take
// Width x Height, else the input image's fit (super-resolution observes output / scale).
import { el } from './elements.js';
import { banner } from './messages.js';
import { updateButtons } from './run.js';
import { resizeMask } from './mask_file.js';
import { colourSample, sampleCanvas, type Sample } from './samples.js';
import { fitImage, typedSizeProblem, usesTypedSize } from './sizes.js';
import { page, state } from './state.js';

function setWorkSize(w: number, h: number): void {
  page.mask = resizeMask(page.mask, page.workW, page.workH, w, h);   // only a task switch resizes it (superres <-> inpaint)
  page.workW = w; page.workH = h;
  redrawInput();
}

/** The work size: typed for generate and style (a wrong size is kept and named), else the input image's fit. */
export function applySize(): void {
  const typed = usesTypedSize(page.task), problem = typedSizeProblem(el.width.value, el.height.value, page.factor);
  el.sizeMsg.textContent = typed && problem ? problem : '';
  page.fit = null;
  if (typed && !problem) setWorkSize(Number(el.width.value), Number(el.height.value));
  else if (!typed && page.source) {
    page.fit = fitImage(page.source.width, page.source.height, page.factor, state.model?.nativeSize ?? 64,
      page.task === 'superres' ? Number(el.scale.value) : 1);
    setWorkSize(page.fit.width, page.fit.height);
  } else redrawInput();
}

/** Size of the image the task observes: the output size, or output / scale for super-resolution. */
export function observedSize(): [number, number] {
  if (page.task !== 'superres') return [page.workW, page.workH];
  const s = Number(el.scale.value);
  return [Math.max(1, Math.round(page.workW / s)), Math.max(1, Math.round(page.workH / s))];
}

/** An image resampled to w x h over white, as RGBA pixels. */
export function imagePixels(img: ImageBitmap | HTMLCanvasElement, w: number, h: number): ImageData {
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
  const src = page.source!;
  return `${page.sourceName} ${src.width}×${src.height} → ${ow}×${oh}${page.fit?.note ? ` (${page.fit.note})` : ''}` +
    `${page.task === 'superres' ? ` (low-resolution input, output ${page.workW}×${page.workH})` : ''}`;
}

function redrawInput(): void {
  const has = page.source !== null;
  el.inputEmpty.hidden = has;
  el.inputCanvas.hidden = !has;
  const [ow, oh] = observedSize();
  if (has) {
    el.inputCanvas.width = ow; el.inputCanvas.height = oh;
    el.inputCanvas.getContext('2d')!.putImageData(imagePixels(page.source!, ow, oh), 0, 0);
  }
  el.inputCaption.textContent = has ? imageCaption() : '';
  drawMask();
  updateButtons();
}

/** The mask over the image (translucent red = fill), and its pixel count in the caption. */
export function drawMask(): void {
  const { workW, workH, mask } = page;
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
  if (page.task === 'inpaint' && page.source) el.inputCaption.textContent = `${imageCaption()} · mask: ${n} of ${mask.length} pixels to fill`;
}

/** A picked image file decoded, or null after saying that this browser cannot decode it. */
export async function decodeImage(file: File, what: string): Promise<ImageBitmap | null> {
  try {
    return await createImageBitmap(file);
  } catch {
    banner(`Could not read the ${what}`, `${file.name} is not an image this browser can decode.`, { warn: true });
    return null;
  }
}

/** `button` opens the hidden file `input`; the first file picked goes to `use` (the input is cleared, so the same file can be picked again). */
export function filePicker(button: HTMLButtonElement, input: HTMLInputElement, use: (f: File) => void): void {
  button.onclick = () => input.click();
  input.onchange = () => {
    const f = input.files?.[0];
    if (f) use(f);
    input.value = '';
  };
}

/** A new input image: the previous mask never carries over to it (a sample brings its own). */
function setSource(img: ImageBitmap | HTMLCanvasElement, name: string, sample: Sample | null = null): void {
  page.source = img;
  page.sourceName = name;
  page.mask = new Uint8Array(page.workW * page.workH);
  page.maskName = sample ? `the box mask of ${name}` : '';
  applySize();
  if (sample) { page.mask = resizeMask(sample.fill, sample.width, sample.height, page.workW, page.workH); drawMask(); updateButtons(); }
}

export async function setImageFile(file: File): Promise<void> {
  const bmp = await decodeImage(file, 'image');
  if (bmp) setSource(bmp, file.name);
}

export function initImageInput(): void {
  filePicker(el.openImage, el.imageInput, (f) => void setImageFile(f));
  for (const i of [el.width, el.height]) i.oninput = () => applySize();
  el.scale.onchange = () => applySize();
  /** The next sample of the model (ui/samples.ts), its mask, and its class as the prompt unless one was typed. */
  el.sampleImage.onclick = async () => {
    const list = await page.samplesReady;
    const s = list ? list[page.sampleIndex++ % list.length]! : colourSample(256);
    if (s.prompt && (!el.prompt.value || list!.some((o) => o.prompt === el.prompt.value))) el.prompt.value = s.prompt;
    setSource(sampleCanvas(s), s.name, s);
  };
}
