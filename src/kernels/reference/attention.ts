// CPU reference for src/kernels/attention.ts: scaled dot-product attention, float64 sums.
// q [B, Nq, heads*D], k/v [B, Nk, heads*D] (token-major, heads interleaved in channels)
//   -> out [B, Nq, heads*D]; out = softmax(scale * q k^T (+ causal mask)) v per (batch, head).
// Causal: key j is excluded from query i when j > i (CLIP's mask).

export interface AttentionDims { B: number; Nq: number; Nk: number; heads: number; D: number }

export function attentionRef(q: Float32Array, k: Float32Array, v: Float32Array, dims: AttentionDims,
                             scale = 1 / Math.sqrt(dims.D), causal = false): Float32Array {
  const { B, Nq, Nk, heads, D } = dims;
  const C = heads * D;
  if (q.length !== B * Nq * C || k.length !== B * Nk * C || v.length !== B * Nk * C) {
    throw new Error(`attentionRef: sizes ${q.length}/${k.length}/${v.length} do not match ${JSON.stringify(dims)}`);
  }
  const out = new Float32Array(B * Nq * C);
  const s = new Float64Array(Nk);
  for (let b = 0; b < B; b++) for (let h = 0; h < heads; h++) for (let i = 0; i < Nq; i++) {
    const qo = (b * Nq + i) * C + h * D;
    const nk = causal ? Math.min(Nk, i + 1) : Nk;
    let max = -Infinity;
    for (let j = 0; j < nk; j++) {
      const ko = (b * Nk + j) * C + h * D;
      let dot = 0;
      for (let d = 0; d < D; d++) dot += q[qo + d] * k[ko + d];
      s[j] = dot * scale;
      if (s[j] > max) max = s[j];
    }
    let sum = 0;
    for (let j = 0; j < nk; j++) { s[j] = Math.exp(s[j] - max); sum += s[j]; }
    for (let d = 0; d < D; d++) {
      let acc = 0;
      for (let j = 0; j < nk; j++) acc += s[j] * v[(b * Nk + j) * C + h * D + d];
      out[qo + d] = acc / sum;
    }
  }
  return out;
}
