// CPU reference for geglu.wgsl: x [rows, 2C] -> [rows, C] = x[:, :C] * gelu(x[:, C:]),
// exact erf gelu in float64 (geluRef from the elementwise reference).
import { geluRef } from './elementwise.js';

export function gegluRef(x: Float32Array, C: number): Float32Array {
  const rows = x.length / (2 * C);
  const y = new Float32Array(rows * C);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < C; c++) y[r * C + c] = x[r * 2 * C + c] * geluRef(x[r * 2 * C + C + c]);
  }
  return y;
}
