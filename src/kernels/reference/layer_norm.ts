// CPU reference for layer_norm.wgsl: x [rows, C] -> same; torch.nn.LayerNorm (biased variance),
// float64 two-pass sums.
export function layerNormRef(x: Float32Array, C: number, gamma: Float32Array, beta: Float32Array, eps: number): Float32Array {
  const y = new Float32Array(x.length);
  for (let base = 0; base < x.length; base += C) {
    let s = 0;
    for (let i = 0; i < C; i++) s += x[base + i];
    const mean = s / C;
    let q = 0;
    for (let i = 0; i < C; i++) q += (x[base + i] - mean) ** 2;
    const rstd = 1 / Math.sqrt(q / C + eps);
    for (let i = 0; i < C; i++) y[base + i] = (x[base + i] - mean) * rstd * gamma[i] + beta[i];
  }
  return y;
}
