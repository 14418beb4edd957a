// The rules for a mask picked as an image, shared by the CLI (src/cli/inputs_node.ts) and the web
// page (web/ui/mask_file.ts), so the same file means the same mask in both. Browser-safe, pure.
//
// Convention of inpainting tools (and diffusers' inpainting pipeline): WHITE marks the region to
// fill, BLACK what is kept. A pixel's grey level is the mean of R, G and B (alpha is ignored, as
// for images). Levels near either end are thresholded, so JPEG noise or a nearly-black brush
// still give the mask the user drew; a level in the middle band is ambiguous (a soft brush edge,
// a colour, a grey) and refused, so a soft mask never silently becomes a different hard one.
import type { RgbaImage } from './image.js';

/** Grey levels 0..KEEP_MAX keep the pixel; FILL_MIN..255 fill it; anything between is refused. */
export const KEEP_MAX = 63;
export const FILL_MIN = 192;

/** The grey level of pixel i: the mean of its R, G and B. */
const level = (d: RgbaImage['data'], i: number) => (d[4 * i]! + d[4 * i + 1]! + d[4 * i + 2]!) / 3;

/**
 * A mask image -> [H * W] of 1 = known (keep), 0 = to fill. Throws, naming the first ambiguous
 * pixel and how many there are, when a pixel is neither near black nor near white.
 */
export function maskFromRgba(img: RgbaImage, what = 'mask'): Float32Array {
  const { width: W, height: H, data } = img;
  const out = new Float32Array(H * W);
  let bad = -1, nBad = 0;
  for (let i = 0; i < H * W; i++) {
    const v = level(data, i);
    if (v <= KEEP_MAX) out[i] = 1;
    else if (v >= FILL_MIN) out[i] = 0;
    else { if (bad < 0) bad = i; nBad++; }
  }
  if (bad >= 0) {
    const r = data[4 * bad], g = data[4 * bad + 1], b = data[4 * bad + 2];
    throw new Error(`${what} is not binary: pixel (${bad % W}, ${Math.floor(bad / W)}) is rgb(${r}, ${g}, ${b})` +
      `${nBad > 1 ? ` (and ${nBad - 1} more pixel${nBad > 2 ? 's are' : ' is'} grey)` : ''}; use black (keep) and white (fill): ` +
      `grey levels up to ${KEEP_MAX} count as black, from ${FILL_MIN} as white`);
  }
  return out;
}

/**
 * Null when a mask of mw x mh fits an image of w x h, else the message (the CLI's wording): a mask
 * is never resized to fit, since resampling would move its edge by up to a pixel.
 */
export function maskSizeProblem(maskName: string, mw: number, mh: number, imageName: string, w: number, h: number): string | null {
  if (mw === w && mh === h) return null;
  return `mask ${maskName} is ${mw}x${mh} but image ${imageName} is ${w}x${h}: they must have the same size`;
}
