// Seeded inpainting masks for the demo and bench/quality (1 = known, 0 = to fill), [H*W]:
//   box: one axis-aligned rectangle covering `area` of the image (25% by default) at a random place;
//   free-form: random brush strokes (random walks with a round brush) until 10-40% is covered.
import { Rng } from '../util/rng.js';

export function boxMask(H: number, W: number, seed: number, area = 0.25): Float32Array {
  const r = new Rng(seed);
  const aspect = 0.6 + 0.8 * r.uniform();                   // w / h
  const h = Math.min(H, Math.max(1, Math.round(Math.sqrt(area * H * W / aspect))));
  const w = Math.min(W, Math.max(1, Math.round((area * H * W) / h)));
  const y0 = Math.floor(r.uniform() * (H - h + 1)), x0 = Math.floor(r.uniform() * (W - w + 1));
  const m = new Float32Array(H * W).fill(1);
  for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) m[y * W + x] = 0;
  return m;
}

export function freeFormMask(H: number, W: number, seed: number, minArea = 0.1, maxArea = 0.4): Float32Array {
  const r = new Rng(seed);
  const target = minArea + (maxArea - minArea) * r.uniform();
  const m = new Float32Array(H * W).fill(1);
  let holes = 0;
  const brush = Math.max(1, Math.round(Math.min(H, W) / 16));
  for (let stroke = 0; stroke < 50 && holes / (H * W) < target; stroke++) {
    let y = r.uniform() * H, x = r.uniform() * W, angle = r.uniform() * 2 * Math.PI;
    const len = 4 + Math.floor(r.uniform() * 12);
    const rad = brush * (0.7 + 0.8 * r.uniform());
    for (let s = 0; s < len && holes / (H * W) < target; s++) {
      for (let yy = Math.floor(y - rad); yy <= Math.ceil(y + rad); yy++) for (let xx = Math.floor(x - rad); xx <= Math.ceil(x + rad); xx++) {
        if (yy < 0 || xx < 0 || yy >= H || xx >= W || (yy - y) ** 2 + (xx - x) ** 2 > rad * rad) continue;
        if (m[yy * W + xx] === 1) { m[yy * W + xx] = 0; holes++; }
      }
      angle += (r.uniform() - 0.5) * 1.2;
      y = Math.min(H - 1, Math.max(0, y + Math.sin(angle) * rad));
      x = Math.min(W - 1, Math.max(0, x + Math.cos(angle) * rad));
    }
  }
  return m;
}
