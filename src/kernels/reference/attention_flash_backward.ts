// CPU reference for attention_flash_dq.wgsl + attention_flash_dkv.wgsl: input gradients of
// o = softmax(scale q k^T) v per head (reference/attention_probs.ts), self- or cross-attention
// (Nq != Nk), float64, with P materialised (fine at test sizes). With dP_ij = dO_i . v_j:
//   delta_i = sum_j P_ij dP_ij,  lse_i = log sum_j exp(scale q_i . k_j)
//   dq_i = scale sum_j P_ij (dP_ij - delta_i) k_j,  dk_j = scale sum_i P_ij (dP_ij - delta_i) q_i,
//   dv_j = sum_i P_ij dO_i
// (dq, dk are w.r.t. the unscaled q / k projections, as attention_backward.ts.)
import { attentionProbsRef, type AttnDims } from './attention_probs.js';

export interface FlashGradsRef { dq: Float64Array; dk: Float64Array; dv: Float64Array; lse: Float64Array; delta: Float64Array }

/** q, dO: [B, Nq, H*D], k, v: [B, Nk, H*D] -> grads; lse, delta: [B, H, Nq] */
export function attentionFlashBackwardRef(q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, dO: ArrayLike<number>,
                                          dims: AttnDims, scale: number): FlashGradsRef {
  const { B, Nq, Nk, heads, D } = dims;
  const C = heads * D;
  if (v.length !== k.length || dO.length !== q.length) throw new Error('attentionFlashBackwardRef: sizes do not match');
  const P = attentionProbsRef(q, k, dims, scale);
  const dq = new Float64Array(B * Nq * C), dk = new Float64Array(B * Nk * C), dv = new Float64Array(B * Nk * C);
  const lse = new Float64Array(B * heads * Nq), delta = new Float64Array(B * heads * Nq);
  const dS = new Float64Array(Nk);
  for (let b = 0; b < B; b++) for (let h = 0; h < heads; h++) for (let i = 0; i < Nq; i++) {
    const row = ((b * heads + h) * Nq + i) * Nk, qi = (b * Nq + i) * C + h * D;
    let max = -Infinity;
    const s = new Float64Array(Nk);
    for (let j = 0; j < Nk; j++) {
      let dot = 0;
      for (let d = 0; d < D; d++) dot += q[qi + d] * k[(b * Nk + j) * C + h * D + d];
      s[j] = scale * dot;
      max = Math.max(max, s[j]);
    }
    let sum = 0;
    for (let j = 0; j < Nk; j++) sum += Math.exp(s[j] - max);
    lse[(b * heads + h) * Nq + i] = max + Math.log(sum);
    let dl = 0;
    for (let j = 0; j < Nk; j++) {
      let dp = 0;
      for (let d = 0; d < D; d++) dp += dO[qi + d] * v[(b * Nk + j) * C + h * D + d];
      dS[j] = dp;
      dl += P[row + j] * dp;
    }
    delta[(b * heads + h) * Nq + i] = dl;
    for (let j = 0; j < Nk; j++) {
      const kj = (b * Nk + j) * C + h * D, ds = scale * P[row + j] * (dS[j] - dl);
      for (let d = 0; d < D; d++) {
        dq[qi + d] += ds * k[kj + d];
        dk[kj + d] += ds * q[qi + d];
        dv[kj + d] += P[row + j] * dO[qi + d];
      }
    }
  }
  return { dq, dk, dv, lse, delta };
}
