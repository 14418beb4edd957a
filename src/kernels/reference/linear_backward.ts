// CPU reference for linear_backward.wgsl, with the float64 forward the finite-difference tests
// differentiate. torch.nn.Linear y = x W^T + b, W [out, in] (checkpoint layout):
//   forward  x [M, in] -> y [M, out]
//   backward dy [M, out] -> dx = dy W [M, in] (+ acc, the gradient already flowing into x along a
//   residual branch). Weight gradients are never needed: the style path differentiates the image.

export function linearRef64(x: ArrayLike<number>, w: ArrayLike<number>, bias: ArrayLike<number> | null,
                            M: number, K: number, Nout: number): Float64Array {
  if (x.length !== M * K || w.length !== Nout * K || (bias && bias.length !== Nout)) throw new Error('linearRef64: sizes do not match');
  const y = new Float64Array(M * Nout);
  for (let m = 0; m < M; m++) for (let n = 0; n < Nout; n++) {
    let acc = bias ? bias[n] : 0;
    for (let k = 0; k < K; k++) acc += x[m * K + k] * w[n * K + k];
    y[m * Nout + n] = acc;
  }
  return y;
}

/** dy: [M, Nout], w: [Nout, K], acc: [M, K] or null -> dx [M, K] */
export function linearBackwardRef(dy: ArrayLike<number>, w: ArrayLike<number>, M: number, K: number, Nout: number,
                                  acc: ArrayLike<number> | null = null): Float64Array {
  if (dy.length !== M * Nout || w.length !== Nout * K || (acc && acc.length !== M * K)) throw new Error('linearBackwardRef: sizes do not match');
  const dx = new Float64Array(M * K);
  for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) {
    let s = 0;
    for (let n = 0; n < Nout; n++) s += dy[m * Nout + n] * w[n * K + k];
    dx[m * K + k] = s + (acc ? acc[m * K + k] : 0);
  }
  return dx;
}
