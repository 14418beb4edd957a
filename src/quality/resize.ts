// Bicubic up-sampling on the CPU, as PyTorch interpolate(mode='bicubic', align_corners=False):
// Keys kernel with A = -0.75, source coordinate (i + 0.5) / scale - 0.5, edge-clamped taps.
// The baseline that super-resolution must beat.

function cubicWeights(t: number, A = -0.75): [number, number, number, number] {
  const w = (x: number) => {
    x = Math.abs(x);
    if (x <= 1) return ((A + 2) * x - (A + 3)) * x * x + 1;
    if (x < 2) return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
    return 0;
  };
  return [w(t + 1), w(t), w(1 - t), w(2 - t)];
}

/** [C, h, w] -> [C, h*s, w*s] */
export function bicubicUpsample(x: Float32Array, C: number, h: number, w: number, s: number): Float32Array {
  const H = h * s, W = w * s, out = new Float32Array(C * H * W);
  const clampI = (i: number, n: number) => Math.min(n - 1, Math.max(0, i));
  for (let c = 0; c < C; c++) for (let Y = 0; Y < H; Y++) {
    const sy = (Y + 0.5) / s - 0.5, y0 = Math.floor(sy), wy = cubicWeights(sy - y0);
    for (let X = 0; X < W; X++) {
      const sx = (X + 0.5) / s - 0.5, x0 = Math.floor(sx), wx = cubicWeights(sx - x0);
      let acc = 0;
      for (let j = 0; j < 4; j++) {
        const row = c * h * w + clampI(y0 - 1 + j, h) * w;
        for (let i = 0; i < 4; i++) acc += wy[j] * wx[i] * x[row + clampI(x0 - 1 + i, w)];
      }
      out[(c * H + Y) * W + X] = acc;
    }
  }
  return out;
}
