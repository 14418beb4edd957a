// CPU reference for frobenius_loss.wgsl: L[n] = ||G_ref - G[n]||_F (NOT squared, NOT normalised;
// method.md decision 3). G [N, M], G_ref [1, M] (shared) or [N, M] -> L [N]. Float64.

export function frobeniusLossRef(g: ArrayLike<number>, gRef: ArrayLike<number>, N: number): Float64Array {
  const M = g.length / N;
  if (!Number.isInteger(M) || (gRef.length !== M && gRef.length !== N * M)) throw new Error('frobeniusLossRef: sizes do not match');
  const L = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    const r = gRef.length === M ? 0 : n * M;
    let s = 0;
    for (let i = 0; i < M; i++) s += (gRef[r + i] - g[n * M + i]) ** 2;
    L[n] = Math.sqrt(s);
  }
  return L;
}
