// CPU reference for group_norm*.wgsl: x [N, C, H, W] -> same. torch.nn.GroupNorm semantics
// (biased variance over (C/groups)*H*W values), optional SiLU. float64 two-pass sums.
export function groupNormRef(x: Float32Array, shape: readonly number[], gamma: Float32Array, beta: Float32Array,
                             groups: number, eps: number, silu = false): Float32Array {
  const [N, C, H, W] = shape;
  const HW = H * W, cpg = C / groups, len = cpg * HW;
  if (!Number.isInteger(cpg)) throw new Error(`groupNormRef: C=${C} not divisible by groups=${groups}`);
  const y = new Float32Array(x.length);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < groups; g++) {
      const base = (n * C + g * cpg) * HW;
      let s = 0;
      for (let i = 0; i < len; i++) s += x[base + i];
      const mean = s / len;
      let q = 0;
      for (let i = 0; i < len; i++) q += (x[base + i] - mean) ** 2;
      const rstd = 1 / Math.sqrt(q / len + eps);
      for (let i = 0; i < len; i++) {
        const c = g * cpg + Math.floor(i / HW);
        let v = (x[base + i] - mean) * rstd * gamma[c] + beta[c];
        if (silu) v = v / (1 + Math.exp(-v));
        y[base + i] = v;
      }
    }
  }
  return y;
}
