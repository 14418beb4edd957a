// CPU reference for layer_norm_backward.wgsl, with a float64 forward for the finite-difference
// tests. y = (x - mean) * rstd * gamma + beta over the last dim C (biased variance, torch).
// Input gradient, with g = dy * gamma and xhat = (x - mean) * rstd:
//   dx = rstd * (g - mean_C(g) - xhat * mean_C(g * xhat))  (+ acc, a residual branch's gradient)

export function layerNormRef64(x: ArrayLike<number>, C: number, gamma: ArrayLike<number>, beta: ArrayLike<number>, eps: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let b = 0; b < x.length; b += C) {
    let s = 0;
    for (let i = 0; i < C; i++) s += x[b + i];
    const mean = s / C;
    let q = 0;
    for (let i = 0; i < C; i++) q += (x[b + i] - mean) ** 2;
    const rstd = 1 / Math.sqrt(q / C + eps);
    for (let i = 0; i < C; i++) y[b + i] = (x[b + i] - mean) * rstd * gamma[i] + beta[i];
  }
  return y;
}

/** x, dy: [rows, C], gamma: [C], acc: [rows, C] or null -> dx [rows, C] */
export function layerNormBackwardRef(x: ArrayLike<number>, dy: ArrayLike<number>, C: number, gamma: ArrayLike<number>,
                                     eps: number, acc: ArrayLike<number> | null = null): Float64Array {
  if (x.length % C || dy.length !== x.length || gamma.length !== C) throw new Error('layerNormBackwardRef: sizes do not match');
  const dx = new Float64Array(x.length);
  for (let b = 0; b < x.length; b += C) {
    let s = 0;
    for (let i = 0; i < C; i++) s += x[b + i];
    const mean = s / C;
    let q = 0;
    for (let i = 0; i < C; i++) q += (x[b + i] - mean) ** 2;
    const rstd = 1 / Math.sqrt(q / C + eps);
    let sg = 0, sgx = 0;
    for (let i = 0; i < C; i++) {
      const g = dy[b + i] * gamma[i];
      sg += g; sgx += g * (x[b + i] - mean) * rstd;
    }
    for (let i = 0; i < C; i++) {
      const xhat = (x[b + i] - mean) * rstd;
      dx[b + i] = rstd * (dy[b + i] * gamma[i] - sg / C - xhat * sgx / C) + (acc ? acc[b + i] : 0);
    }
  }
  return dx;
}
