// CPU reference for quick_gelu_backward.wgsl: quick_gelu(x) = x * sigmoid(1.702 x) (CLIP's MLP
// activation); d/dx = s + 1.702 x s (1 - s) with s = sigmoid(1.702 x). dx = dy * d/dx. Float64.

export function quickGeluRef64(x: ArrayLike<number>): Float64Array {
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = x[i] / (1 + Math.exp(-1.702 * x[i]));
  return y;
}

export function quickGeluBackwardRef(x: ArrayLike<number>, dy: ArrayLike<number>): Float64Array {
  if (dy.length !== x.length) throw new Error('quickGeluBackwardRef: sizes differ');
  const dx = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const s = 1 / (1 + Math.exp(-1.702 * x[i]));
    dx[i] = dy[i] * (s + 1.702 * x[i] * s * (1 - s));
  }
  return dx;
}
