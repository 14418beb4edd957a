// CPU reference for attention_backward_scores.wgsl + attention_backward.wgsl: input gradients
// of self-attention o = softmax(scale q k^T) v per head (reference/attention_probs.ts), float64.
// With P the probabilities and dO the output gradient:
//   dP_ij = dO_i . v_j;  dS_ij = scale * P_ij * (dP_ij - sum_j' P_ij' dP_ij')   (softmax backward)
//   dq = dS k;  dk = dS^T q;  dv = P^T dO
// (HF scales q before the product; the scale is folded into dS, so dq, dk are w.r.t. the
// unscaled q_proj / k_proj outputs.) Self-attention only: Nq == Nk.
import type { AttnDims } from './attention_probs.js';

export interface AttnGrads { dq: Float64Array; dk: Float64Array; dv: Float64Array }

/** dS [B, H, N, N] (scale folded in) */
export function attentionScoresBackwardRef(P: ArrayLike<number>, v: ArrayLike<number>, dO: ArrayLike<number>,
                                           dims: AttnDims, scale: number): Float64Array {
  const { B, Nq: N, heads, D } = dims;
  const C = heads * D;
  const dS = new Float64Array(B * heads * N * N);
  const dp = new Float64Array(N);
  for (let b = 0; b < B; b++) for (let h = 0; h < heads; h++) for (let i = 0; i < N; i++) {
    const row = ((b * heads + h) * N + i) * N;
    let r = 0;
    for (let j = 0; j < N; j++) {
      let dot = 0;
      for (let d = 0; d < D; d++) dot += dO[(b * N + i) * C + h * D + d] * v[(b * N + j) * C + h * D + d];
      dp[j] = dot;
      r += P[row + j] * dot;
    }
    for (let j = 0; j < N; j++) dS[row + j] = scale * P[row + j] * (dp[j] - r);
  }
  return dS;
}

export function attentionBackwardRef(q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, P: ArrayLike<number>,
                                     dO: ArrayLike<number>, dims: AttnDims, scale: number): AttnGrads {
  const { B, Nq: N, Nk, heads, D } = dims;
  if (N !== Nk) throw new Error('attentionBackwardRef: self-attention only (Nq == Nk)');
  const C = heads * D;
  const dS = attentionScoresBackwardRef(P, v, dO, dims, scale);
  const dq = new Float64Array(B * N * C), dk = new Float64Array(B * N * C), dv = new Float64Array(B * N * C);
  for (let b = 0; b < B; b++) for (let t = 0; t < N; t++) for (let c = 0; c < C; c++) {
    const h = Math.floor(c / D);
    const hb = (b * heads + h) * N * N;
    let sq = 0, sk = 0, sv = 0;
    for (let j = 0; j < N; j++) {
      sq += dS[hb + t * N + j] * k[(b * N + j) * C + c];
      sk += dS[hb + j * N + t] * q[(b * N + j) * C + c];
      sv += P[hb + j * N + t] * dO[(b * N + j) * C + c];
    }
    const o = (b * N + t) * C + c;
    dq[o] = sq; dk[o] = sk; dv[o] = sv;
  }
  return { dq, dk, dv };
}
