// CPU reference for frobenius_loss_backward.wgsl: dL/dG = dl[n] * (G - G_ref) / L[n], and 0 where
// L[n] == 0 (torch.linalg.norm's backward masks the 0/0 the same way: golden README, L = 0 edge
// case). G [N, M], G_ref [1 or N, M], L [N], dl [N] -> dG [N, M]. Float64.

export function frobeniusLossBackwardRef(g: ArrayLike<number>, gRef: ArrayLike<number>, L: ArrayLike<number>,
                                         dl: ArrayLike<number>, N: number): Float64Array {
  const M = g.length / N;
  if (!Number.isInteger(M) || (gRef.length !== M && gRef.length !== N * M) || L.length !== N || dl.length !== N) {
    throw new Error('frobeniusLossBackwardRef: sizes do not match');
  }
  const dG = new Float64Array(g.length);
  for (let n = 0; n < N; n++) {
    if (L[n] === 0) continue;
    const r = gRef.length === M ? 0 : n * M;
    for (let i = 0; i < M; i++) dG[n * M + i] = dl[n] * (g[n * M + i] - gRef[r + i]) / L[n];
  }
  return dG;
}
