// CPU reference for group_norm_backward.wgsl, with a float64 forward for the finite-difference
// tests. GroupNorm as torch (biased variance over (C/groups)*H*W values), optional SiLU after:
//   y = silu?(z), z = xhat * gamma + beta, xhat = (x - mean) * rstd
// Input gradient, with dz = dy * silu'(z) (silu'(z) = s (1 + z (1 - s)), s = sigmoid(z)), g = dz * gamma:
//   dx = rstd * (g - mean_group(g) - xhat * mean_group(g * xhat))  (+ acc)

export interface GroupNormRefDims { shape: readonly number[]; groups: number; eps: number; silu: boolean }

/** Visits each group: its base offset, length, first channel, mean and rstd (float64 two-pass). */
function forEachGroup(x: ArrayLike<number>, d: GroupNormRefDims,
                      f: (base: number, len: number, c0: number, mean: number, rstd: number) => void): void {
  const [N, C, H, W] = d.shape as [number, number, number, number];
  const cpg = C / d.groups, len = cpg * H * W;
  if (!Number.isInteger(cpg) || x.length !== N * C * H * W) throw new Error('group norm reference: sizes do not match');
  for (let ng = 0; ng < N * d.groups; ng++) {
    const base = ng * len;
    let s = 0;
    for (let i = 0; i < len; i++) s += x[base + i];
    const mean = s / len;
    let q = 0;
    for (let i = 0; i < len; i++) q += (x[base + i] - mean) ** 2;
    f(base, len, (ng % d.groups) * cpg, mean, 1 / Math.sqrt(q / len + d.eps));
  }
}

/** float64 forward: x [N, C, H, W] -> y */
export function groupNormRef64(x: ArrayLike<number>, gamma: ArrayLike<number>, beta: ArrayLike<number>, d: GroupNormRefDims): Float64Array {
  const y = new Float64Array(x.length), HW = d.shape[2] * d.shape[3];
  forEachGroup(x, d, (base, len, c0, mean, rstd) => {
    for (let i = 0; i < len; i++) {
      const c = c0 + Math.floor(i / HW);
      const z = (x[base + i] - mean) * rstd * gamma[c] + beta[c];
      y[base + i] = d.silu ? z / (1 + Math.exp(-z)) : z;
    }
  });
  return y;
}

/** x, dy: [N, C, H, W], gamma, beta: [C], acc: [N, C, H, W] or null -> dx [N, C, H, W] */
export function groupNormBackwardRef(x: ArrayLike<number>, dy: ArrayLike<number>, gamma: ArrayLike<number>, beta: ArrayLike<number>,
                                     d: GroupNormRefDims, acc: ArrayLike<number> | null = null): Float64Array {
  if (dy.length !== x.length || gamma.length !== d.shape[1] || beta.length !== d.shape[1]) throw new Error('groupNormBackwardRef: sizes do not match');
  const dx = new Float64Array(x.length), HW = d.shape[2] * d.shape[3];
  forEachGroup(x, d, (base, len, c0, mean, rstd) => {
    const g = new Float64Array(len), xhat = new Float64Array(len);
    let sg = 0, sgx = 0;
    for (let i = 0; i < len; i++) {
      const c = c0 + Math.floor(i / HW);
      xhat[i] = (x[base + i] - mean) * rstd;
      let dz = dy[base + i];
      if (d.silu) {
        const z = xhat[i] * gamma[c] + beta[c], s = 1 / (1 + Math.exp(-z));
        dz *= s * (1 + z * (1 - s));
      }
      g[i] = dz * gamma[c];
      sg += g[i]; sgx += g[i] * xhat[i];
    }
    for (let i = 0; i < len; i++) dx[base + i] = rstd * (g[i] - sg / len - xhat[i] * sgx / len) + (acc ? acc[base + i] : 0);
  });
  return dx;
}
