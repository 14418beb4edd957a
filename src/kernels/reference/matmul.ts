// CPU references for src/kernels/wgsl/matmul_*.wgsl: plain loops, float64 sums (llm.c style).
// Never optimised: these define the answer the GPU variants are tested against.

/** x: [M, K], w: [N, K] (checkpoint layout), bias: [N], residual: [M, N] -> y = x w^T + bias + residual: [M, N] */
export function linearRef(x: Float32Array, w: Float32Array, M: number, N: number, K: number,
                          bias?: Float32Array, residual?: Float32Array): Float32Array {
  if (x.length !== M * K || w.length !== N * K) throw new Error(`linearRef: sizes ${x.length}, ${w.length} do not fit M=${M} N=${N} K=${K}`);
  const y = new Float32Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += x[m * K + k] * w[n * K + k];
      if (bias) s += bias[n];
      if (residual) s += residual[m * N + n];
      y[m * N + n] = s;
    }
  }
  return y;
}

/**
 * a: [B, M, K] ([B, K, M] when transA), b: [B, K, N] ([B, N, K] when transB)
 * -> alpha * a b: [B, M, N]
 */
export function bmmRef(a: Float32Array, b: Float32Array, B: number, M: number, N: number, K: number,
                       opts: { transA?: boolean; transB?: boolean; alpha?: number } = {}): Float32Array {
  if (a.length !== B * M * K || b.length !== B * K * N) throw new Error(`bmmRef: sizes ${a.length}, ${b.length} do not fit B=${B} M=${M} N=${N} K=${K}`);
  const { transA = false, transB = false, alpha = 1 } = opts;
  const y = new Float32Array(B * M * N);
  for (let bt = 0; bt < B; bt++) {
    const ao = bt * M * K, bo = bt * K * N;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = transA ? a[ao + k * M + m] : a[ao + m * K + k];
          const bv = transB ? b[bo + n * K + k] : b[bo + k * N + n];
          s += av * bv;
        }
        y[bt * M * N + m * N + n] = alpha * s;
      }
    }
  }
  return y;
}
