// The Sample button's pictures, each with a matching mask. A model folder that carries its own
// held-out test images (testset.safetensors: the embedded Fashion-MNIST model's, never trained
// on) offers those, one per class, with the demo's box masks (src/quality/masks.ts), so the
// sample is something the model can reproduce: its unmasked part comes back through the VAE and
// the filled part looks like clothing. Any other model gets the colourful procedural picture.
// Why the test set decides and not the config: nothing in a diffusers config says "grey" (the
// embedded VAE has 3 channels like SD's, and its test images are grey copied to RGB, so a
// 3-channel-variance test could only be run on images the model ships anyway); every other model
// the page opens is an SD 1.x checkpoint trained on colour photos.
import { tensorToRgba } from '../../src/pipeline/image.js';
import { CLASS_PROMPTS, loadTestSet, type TestSet } from '../../src/quality/fmnist_data.js';
import { boxMask } from '../../src/quality/masks.js';
import { directoryHandleModelFiles, fetchByteSource, type DirectoryHandleLike, type ModelFiles } from '../../src/weights/index.js';
import { entriesModelFiles } from '../model_files.js';
import type { ModelChoice } from '../protocol.js';

export interface Sample {
  /** caption text */
  name: string;
  /** a prompt that describes it ('' for the procedural picture) */
  prompt: string;
  width: number;
  height: number;
  rgba: Uint8ClampedArray;
  /** [height * width], 1 = fill */
  fill: Uint8Array;
}

export const TESTSET = 'testset.safetensors';
/** how many test images are read to find one per class (the first 100 hold every class) */
const READ = 100;

/** Indices of the first image of each class, in class order (classes missing from `labels` are skipped). */
export function firstOfEachClass(labels: readonly number[], classes: number): number[] {
  const out: number[] = [];
  for (let c = 0; c < classes; c++) {
    const i = labels.indexOf(c);
    if (i >= 0) out.push(i);
  }
  return out;
}

/** Test image `n` of a set as a sample, with the demo's box mask of seed n (a quarter of the image). */
export function heldOutSample(set: TestSet, n: number): Sample {
  const S = set.size;
  const { data } = tensorToRgba(set.images, 3, S, S, n * 3 * S * S);
  const known = boxMask(S, S, n);
  const label = set.labels[n]!;
  const prompt = CLASS_PROMPTS[label] ?? '';
  return {
    name: `held-out test image ${n} (${prompt.replace(/^an? /, '')})`, prompt, width: S, height: S,
    rgba: data as Uint8ClampedArray, fill: Uint8Array.from(known, (k) => (k ? 0 : 1)),
  };
}

/** The samples of a model's test set: one per class. */
export function heldOutSamples(set: TestSet): Sample[] {
  return firstOfEachClass(set.labels, CLASS_PROMPTS.length).map((n) => heldOutSample(set, n));
}

/** The served default model's test set, outside its manifest (tools/serve_web.mjs serves it beside the components). */
function servedFiles(base: string): ModelFiles {
  const url = new URL(TESTSET, new URL(base, location.href)).href;
  return {
    name: 'the default model',
    list: async () => [TESTSET],
    readText: async () => null,
    open: async (p) => {
      if (p !== TESTSET) return null;
      const head = await fetch(url, { method: 'HEAD' }).catch(() => null);
      return head?.ok ? fetchByteSource(url) : null;
    },
  };
}

/** The held-out samples of the picked model, or null when it has none (then the colourful picture is used). */
export async function modelSamples(choice: ModelChoice): Promise<Sample[] | null> {
  const files = choice.kind === 'server' ? servedFiles(choice.base)
    : choice.kind === 'entries' ? entriesModelFiles(choice.entries, choice.name)
    : choice.kind === 'directory' ? directoryHandleModelFiles(choice.handle as unknown as DirectoryHandleLike)
    : null;                                              // a single checkpoint file has no folder to look in
  if (!files) return null;
  try {
    const set = await loadTestSet(files, READ);
    const samples = heldOutSamples(set);
    return samples.length ? samples : null;
  } catch {
    return null;                                         // no test set (or an unreadable one): not an error for the user
  }
}

/** The colourful procedural picture (for colour models): gradient, disc, square, stripes; the mask covers the square. */
export function colourSample(size: number): Sample {
  const c = document.createElement('canvas');
  c.width = c.height = size;
  const g = c.getContext('2d', { willReadFrequently: true })!;
  const u = size / 256;
  const grad = g.createLinearGradient(0, 0, size, size);
  grad.addColorStop(0, '#f4d9b0'); grad.addColorStop(1, '#6d8fc7');
  g.fillStyle = grad; g.fillRect(0, 0, size, size);
  g.fillStyle = '#2b3a67'; g.beginPath(); g.arc(96 * u, 110 * u, 56 * u, 0, 2 * Math.PI); g.fill();
  g.fillStyle = '#e85d4a'; g.fillRect(140 * u, 140 * u, 84 * u, 84 * u);
  g.fillStyle = 'rgba(255,255,255,.7)';
  for (let i = 0; i < 6; i++) g.fillRect(0, (20 + i * 10) * u, size, 4 * u);
  const fill = new Uint8Array(size * size);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
    if (x >= 132 * u && x < 232 * u && y >= 132 * u && y < 232 * u) fill[y * size + x] = 1;
  }
  return { name: 'sample picture', prompt: '', width: size, height: size, rgba: g.getImageData(0, 0, size, size).data, fill };
}

/** A sample's pixels as a canvas (the page's image source). */
export function sampleCanvas(s: Sample): HTMLCanvasElement {
  const c = document.createElement('canvas');
  c.width = s.width; c.height = s.height;
  c.getContext('2d')!.putImageData(new ImageData(new Uint8ClampedArray(s.rgba), s.width, s.height), 0, 0);
  return c;
}
