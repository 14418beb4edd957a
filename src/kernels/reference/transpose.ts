// CPU reference for transpose.wgsl: x [B, R, C] -> [B, C, R].
export function transposeRef(x: Float32Array, B: number, R: number, C: number): Float32Array {
  const y = new Float32Array(x.length);
  for (let b = 0; b < B; b++) {
    for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) y[(b * C + c) * R + r] = x[(b * R + r) * C + c];
  }
  return y;
}
