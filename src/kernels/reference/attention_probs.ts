// CPU references for attention_probs.wgsl and attention_pv.wgsl: attention with the probability
// matrix materialised (CLIP vision: 197 tokens), float64.
//   probs: q [B, Nq, H*D], k [B, Nk, H*D] -> P [B, H, Nq, Nk] = softmax_j(scale * q_i . k_j) per head
//   pv:    P [B, H, Nq, Nk], v [B, Nk, H*D] -> o [B, Nq, H*D] = sum_j P_ij v_j per head
// q, k, v are token-major with heads interleaved in channels, as Linear produces them.

export interface AttnDims { B: number; Nq: number; Nk: number; heads: number; D: number }

export function attentionProbsRef(q: ArrayLike<number>, k: ArrayLike<number>, dims: AttnDims, scale: number): Float64Array {
  const { B, Nq, Nk, heads, D } = dims;
  const C = heads * D;
  if (q.length !== B * Nq * C || k.length !== B * Nk * C) throw new Error(`attentionProbsRef: sizes do not match ${JSON.stringify(dims)}`);
  const P = new Float64Array(B * heads * Nq * Nk);
  for (let b = 0; b < B; b++) for (let h = 0; h < heads; h++) for (let i = 0; i < Nq; i++) {
    const row = ((b * heads + h) * Nq + i) * Nk;
    let max = -Infinity;
    for (let j = 0; j < Nk; j++) {
      let dot = 0;
      for (let d = 0; d < D; d++) dot += q[(b * Nq + i) * C + h * D + d] * k[(b * Nk + j) * C + h * D + d];
      P[row + j] = scale * dot;
      max = Math.max(max, P[row + j]);
    }
    let sum = 0;
    for (let j = 0; j < Nk; j++) { P[row + j] = Math.exp(P[row + j] - max); sum += P[row + j]; }
    for (let j = 0; j < Nk; j++) P[row + j] /= sum;
  }
  return P;
}

export function attentionPvRef(P: ArrayLike<number>, v: ArrayLike<number>, dims: AttnDims): Float64Array {
  const { B, Nq, Nk, heads, D } = dims;
  const C = heads * D;
  if (P.length !== B * heads * Nq * Nk || v.length !== B * Nk * C) throw new Error(`attentionPvRef: sizes do not match ${JSON.stringify(dims)}`);
  const o = new Float64Array(B * Nq * C);
  for (let b = 0; b < B; b++) for (let h = 0; h < heads; h++) for (let i = 0; i < Nq; i++) for (let d = 0; d < D; d++) {
    let acc = 0;
    for (let j = 0; j < Nk; j++) acc += P[((b * heads + h) * Nq + i) * Nk + j] * v[(b * Nk + j) * C + h * D + d];
    o[(b * Nq + i) * C + h * D + d] = acc;
  }
  return o;
}
