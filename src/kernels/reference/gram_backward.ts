// CPU reference for gram_backward.wgsl: input gradient of G = F^T F (reference/gram.ts).
//   f [N, T, D], dG [N, D, D] -> df [N, T, D]: df[t, d] = sum_e f[t, e] (dG[e, d] + dG[d, e]) for
// t >= skip, 0 on the skipped rows (the CLS token does not reach G). dG need not be symmetric.

export function gramBackwardRef(f: ArrayLike<number>, dG: ArrayLike<number>, N: number, T: number, D: number, skip: number): Float64Array {
  if (f.length !== N * T * D || dG.length !== N * D * D) throw new Error('gramBackwardRef: sizes do not match');
  const df = new Float64Array(N * T * D);
  for (let n = 0; n < N; n++) for (let t = skip; t < T; t++) for (let d = 0; d < D; d++) {
    let acc = 0;
    for (let e = 0; e < D; e++) acc += f[(n * T + t) * D + e] * (dG[(n * D + e) * D + d] + dG[(n * D + d) * D + e]);
    df[(n * T + t) * D + d] = acc;
  }
  return df;
}
