// CPU reference for src/kernels/softmax.ts: softmax over the last dim, float64 sums.
// x [..., L] -> [..., L]; y = exp(x - max) / sum exp(x - max) per row.

export function softmaxRef(x: Float32Array, L: number): Float32Array {
  if (L <= 0 || x.length % L !== 0) throw new Error(`softmaxRef: ${x.length} values are not rows of ${L}`);
  const y = new Float32Array(x.length);
  for (let r = 0; r < x.length / L; r++) {
    const o = r * L;
    let max = -Infinity;
    for (let i = 0; i < L; i++) max = Math.max(max, x[o + i]);
    let sum = 0;
    for (let i = 0; i < L; i++) sum += Math.exp(x[o + i] - max);
    for (let i = 0; i < L; i++) y[o + i] = Math.exp(x[o + i] - max) / sum;
  }
  return y;
}
