// CPU reference for clip_normalize.wgsl: the style path's pixel normalisation (method.md,
// decision 3), in the golden's order: x in [-1, 1] -> ((x + 1) / 2 - mean[c]) / std[c].
// x: [N, C, H, W] -> same; mean/std: [C]. Float64.

export function clipNormalizeRef(x: ArrayLike<number>, shape: readonly number[], mean: ArrayLike<number>, std: ArrayLike<number>): Float64Array {
  const [N, C, H, W] = shape;
  const HW = H * W;
  if (x.length !== N * C * HW || mean.length !== C || std.length !== C) throw new Error(`clipNormalizeRef: sizes do not match [${shape}]`);
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const c = Math.floor(i / HW) % C;
    y[i] = ((x[i] + 1) / 2 - mean[c]) / std[c];
  }
  return y;
}
