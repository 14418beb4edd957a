// The demo's PNG grid: one row per (task, image) with [observation | result | ground truth],
// column titles on top and each row's task, method and test image written on its left, so the
// picture explains itself when it is looked at without the terminal output beside it.
import { tensorToRgba, type RgbaImage } from '../pipeline/image.js';
import type { ImageData4 } from '../pipeline/tasks.js';
import { drawText, GLYPH_H, textWidth } from './bitmap_font.js';

export interface GridRow {
  /** lines written left of the row: task, method, image */
  lines: string[];
  obs: ImageData4;
  result: Float32Array;
  gt: Float32Array;
  /** [S*S], 1 = unknown pixel (inpainting): shown tinted red in the observation */
  unknown?: Float32Array;
}

export const GRID_COLUMNS = ['observation', 'result', 'ground truth'];
const ZOOM = 4, GAP = 4, FONT = 2, PAD = 8, LINE = (GLYPH_H + 3) * FONT;

/** Rows of [observation | result | ground truth] of S x S images, each enlarged 4x (nearest), labelled. */
export function demoGrid(rows: GridRow[], S: number): RgbaImage {
  const cell = S * ZOOM, cols = GRID_COLUMNS.length;
  const labelW = Math.max(0, ...rows.flatMap((r) => r.lines.map((l) => textWidth(l, FONT)))) + 2 * PAD;
  const headH = LINE + PAD;
  const W = labelW + cols * cell + (cols + 1) * GAP, H = headH + rows.length * cell + (rows.length + 1) * GAP;
  const img: RgbaImage = { width: W, height: H, data: new Uint8ClampedArray(W * H * 4).fill(255) };
  const x0 = (c: number) => labelW + GAP + c * (cell + GAP), y0 = (r: number) => headH + GAP + r * (cell + GAP);
  const put = (src: RgbaImage, r: number, c: number) => {
    const sx = src.width / cell, sy = src.height / cell;
    for (let y = 0; y < cell; y++) for (let x = 0; x < cell; x++) {
      const si = 4 * (Math.floor(y * sy) * src.width + Math.floor(x * sx)), di = 4 * ((y0(r) + y) * W + x0(c) + x);
      for (let k = 0; k < 4; k++) img.data[di + k] = src.data[si + k]!;
    }
  };
  // titles centred over their column; one wider than the image's right edge leaves it ("ground truth" over a 32 px image)
  GRID_COLUMNS.forEach((t, c) => drawText(img, t, Math.min(W - GAP - textWidth(t, FONT), x0(c) + ((cell - textWidth(t, FONT)) >> 1)), PAD, FONT));
  rows.forEach((row, r) => {
    const [, oc, oh, ow] = row.obs.shape;
    put(row.unknown ? markHole(row, S) : tensorToRgba(row.obs.data, oc, oh, ow), r, 0);
    put(tensorToRgba(row.result, 3, S, S), r, 1);
    put(tensorToRgba(row.gt, 3, S, S), r, 2);
    const top = y0(r) + Math.max(0, (cell - row.lines.length * LINE) >> 1);
    row.lines.forEach((l, i) => drawText(img, l, PAD, top + i * LINE, FONT, i === 0 ? [0, 0, 0] : [90, 90, 90]));
  });
  return img;
}

/** The inpainting input with the unknown region tinted red (the model never sees those pixels). */
function markHole(row: GridRow, S: number): RgbaImage {
  const img = tensorToRgba(row.gt, 3, S, S);
  for (let i = 0; i < S * S; i++) if (row.unknown![i]) img.data.set([200, 40, 40, 255], 4 * i);
  return img;
}
