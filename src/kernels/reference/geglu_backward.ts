// CPU reference for geglu_backward.wgsl, with a float64 forward for the finite-difference tests.
// x [rows, 2F] = [h, g] halves, y = h * gelu(g) [rows, F], gelu exact (erf):
//   dh = dy * gelu(g),  dg = dy * h * (Phi(g) + g * phi(g))
import { erf, geluRef } from './elementwise.js';

/** float64 forward: x [rows, 2F] -> [rows, F] */
export function gegluRef64(x: ArrayLike<number>, F: number): Float64Array {
  const rows = x.length / (2 * F), y = new Float64Array(rows * F);
  for (let r = 0; r < rows; r++) for (let c = 0; c < F; c++) y[r * F + c] = x[r * 2 * F + c] * geluRef(x[r * 2 * F + F + c]);
  return y;
}

/** x: [rows, 2F], dy: [rows, F] -> dx [rows, 2F] */
export function gegluBackwardRef(x: ArrayLike<number>, dy: ArrayLike<number>, F: number): Float64Array {
  if (x.length !== 2 * dy.length || dy.length % F) throw new Error('gegluBackwardRef: sizes do not match');
  const rows = dy.length / F, dx = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < F; c++) {
    const hi = r * 2 * F + c, h = x[hi], g = x[hi + F], d = dy[r * F + c];
    const cdf = 0.5 * (1 + erf(g / Math.SQRT2)), pdf = Math.exp(-0.5 * g * g) / Math.sqrt(2 * Math.PI);
    dx[hi] = d * g * cdf;
    dx[hi + F] = d * h * (cdf + g * pdf);
  }
  return dx;
}
