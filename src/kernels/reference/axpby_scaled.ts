// CPU reference for src/kernels/wgsl/axpby_scaled.wgsl.
export function axpbyScaledRef(alpha: number, a: Float32Array, beta: number, b: Float32Array, s: Float32Array, multiply = false): Float32Array {
  const y = new Float32Array(a.length);
  const per = a.length / s.length;
  for (let i = 0; i < a.length; i++) {
    const norm = s[Math.floor(i / per)];
    y[i] = alpha * a[i] + (multiply ? beta * b[i] * norm : norm !== 0 ? (beta * b[i]) / norm : 0);
  }
  return y;
}
