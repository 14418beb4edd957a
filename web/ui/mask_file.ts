// A mask picked as an image file on the page, read by the CLI's rules (src/pipeline/mask_rules.ts):
// white = fill, black = keep, greys near either end thresholded, ambiguous greys refused, and a
// mask of another size than the input image refused with the CLI's message instead of resized.
import { maskFromRgba, maskSizeProblem } from '../../src/pipeline/mask_rules.js';

/** The picked mask at the image's own size, [h * w] with 1 = fill; throws the message for the user. */
export async function readMaskFile(file: File, image: { name: string; width: number; height: number }): Promise<Uint8Array> {
  let bmp: ImageBitmap;
  try {
    bmp = await createImageBitmap(file);
  } catch {
    throw new Error(`${file.name} is not an image this browser can decode.`);
  }
  const size = maskSizeProblem(file.name, bmp.width, bmp.height, image.name, image.width, image.height);
  if (size) { bmp.close(); throw new Error(size); }
  const c = document.createElement('canvas');
  c.width = bmp.width; c.height = bmp.height;
  const g = c.getContext('2d', { willReadFrequently: true })!;
  g.drawImage(bmp, 0, 0);                                   // same size: no resampling, no new greys
  bmp.close();
  const known = maskFromRgba(g.getImageData(0, 0, c.width, c.height), `mask ${file.name}`);
  return Uint8Array.from(known, (k) => (k ? 0 : 1));
}

/** A fill mask of (w, h) at another size, by nearest neighbour (a binary mask stays binary). */
export function resizeMask(mask: Uint8Array, w: number, h: number, W: number, H: number): Uint8Array {
  if (w === W && h === H) return mask;
  const out = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) out[y * W + x] = mask[Math.floor((y * h) / H) * w + Math.floor((x * w) / W)]!;
  return out;
}
