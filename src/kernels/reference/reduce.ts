// CPU reference for reduce_max_abs*.wgsl: x [rows, M] -> [rows] = max |x| per row, NaN if the
// row holds a NaN (Math.max propagates NaN, as torch.amax does).
export function maxAbsPerRowRef(x: Float32Array, rows: number): Float32Array {
  const M = x.length / rows;
  const y = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let m = 0;
    for (let i = 0; i < M; i++) m = Math.max(m, Math.abs(x[r * M + i]));
    y[r] = m;
  }
  return y;
}
