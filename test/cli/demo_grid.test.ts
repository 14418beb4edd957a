// The demo grid labels its columns and rows (issue 11 §3: it had 14 unlabeled rows), drawn with
// the embedded bitmap font.
import { describe, expect, test } from 'vitest';
import { drawText, textWidth } from '../../src/cli/bitmap_font.js';
import { demoGrid, GRID_COLUMNS, type GridRow } from '../../src/cli/demo_grid.js';
import type { RgbaImage } from '../../src/pipeline/image.js';

const blank = (w: number, h: number): RgbaImage => ({ width: w, height: h, data: new Uint8ClampedArray(w * h * 4).fill(255) });
/** Dark pixels in the rectangle [x0, x1) x [y0, y1). */
function ink(img: RgbaImage, x0: number, y0: number, x1: number, y1: number): number {
  let n = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (img.data[4 * (y * img.width + x)]! < 128) n++;
  return n;
}

describe('bitmap font', () => {
  test('draws glyphs inside their advance box, capitals for lower case, ? for unknown characters', () => {
    const a = blank(40, 20), b = blank(40, 20), q = blank(40, 20), u = blank(40, 20);
    drawText(a, 'x4', 1, 1, 2);
    drawText(b, 'X4', 1, 1, 2);
    drawText(q, '?', 1, 1, 2);
    drawText(u, '\u00e9', 1, 1, 2);
    expect(Buffer.from(a.data).equals(Buffer.from(b.data))).toBe(true);
    expect(Buffer.from(u.data).equals(Buffer.from(q.data))).toBe(true);
    expect(ink(a, 1, 1, 1 + textWidth('x4', 2), 15)).toBe(ink(a, 0, 0, 40, 20));
    expect(ink(a, 0, 0, 40, 20)).toBeGreaterThan(20);
  });
});

describe('demo grid', () => {
  const S = 8, px = 3 * S * S;
  const row = (lines: string[]): GridRow => ({
    lines, obs: { data: new Float32Array(px).fill(1), shape: [1, 3, S, S] }, result: new Float32Array(px).fill(1), gt: new Float32Array(px).fill(1),
  });
  test('column titles above the cells and every row labelled on its left', () => {
    const rows = [row(['inpainting, box mask', 'newton', 'test image 0']), row(['deblurring', 'newton, prompted', 'test image 1'])];
    const img = demoGrid(rows, S);
    const cells = GRID_COLUMNS.length * S * 4;
    const labelW = img.width - cells - (GRID_COLUMNS.length + 1) * 4;
    expect(labelW).toBeGreaterThanOrEqual(textWidth('inpainting, box mask', 2));
    const headH = img.height - rows.length * (S * 4 + 4) - 4;
    expect(ink(img, labelW, 0, img.width, headH)).toBeGreaterThan(100);          // column titles
    for (let r = 0; r < rows.length; r++) {                                      // row labels
      const y = headH + 4 + r * (S * 4 + 4);
      expect(ink(img, 0, y, labelW, y + S * 4), `row ${r}`).toBeGreaterThan(100);
    }
    // the image cells themselves are untouched by text (all-white test images)
    expect(ink(img, labelW + 4, headH + 4, img.width - 4, img.height - 4)).toBe(0);
  });
});
