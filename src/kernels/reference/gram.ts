// CPU reference for gram.wgsl: the style Gram matrix, unnormalised (method.md, decision 3).
//   f [N, T, D] (tokens of hidden_states[3]) -> G [N, D, D] = F^T F with F = f[n, skip:, :]
// (skip = 1 drops the CLS token). Float64.

export function gramRef(f: ArrayLike<number>, N: number, T: number, D: number, skip: number): Float64Array {
  if (f.length !== N * T * D || skip < 0 || skip >= T) throw new Error(`gramRef: sizes do not match [${N}, ${T}, ${D}] skip ${skip}`);
  const G = new Float64Array(N * D * D);
  for (let n = 0; n < N; n++) for (let d = 0; d < D; d++) for (let e = 0; e < D; e++) {
    let acc = 0;
    for (let t = skip; t < T; t++) acc += f[(n * T + t) * D + d] * f[(n * T + t) * D + e];
    G[(n * D + d) * D + e] = acc;
  }
  return G;
}
