// CPU reference for clip_normalize_backward.wgsl: d/dx of ((x + 1) / 2 - mean[c]) / std[c] is
// 1 / (2 std[c]), so dx = dy / std[c] / 2. dy: [N, C, H, W] -> dx: same. Float64.

export function clipNormalizeBackwardRef(dy: ArrayLike<number>, shape: readonly number[], std: ArrayLike<number>): Float64Array {
  const [N, C, H, W] = shape;
  const HW = H * W;
  if (dy.length !== N * C * HW || std.length !== C) throw new Error(`clipNormalizeBackwardRef: sizes do not match [${shape}]`);
  const dx = new Float64Array(dy.length);
  for (let i = 0; i < dy.length; i++) dx[i] = dy[i] / std[Math.floor(i / HW) % C] / 2;
  return dx;
}
