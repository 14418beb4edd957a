// CPU references for src/kernels/wgsl/elementwise.wgsl (float64 math); GEGLU's is reference/geglu.ts.
import type { Broadcast, ElementwiseOp } from '../elementwise.js';

export function erf(x: number): number {
  // series / continued fraction to ~1e-15 (reference accuracy, not speed)
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let sum = ax, term = ax;
    for (let n = 1; n < 100; n++) { term *= -ax * ax / n; const c = term / (2 * n + 1); sum += c; if (Math.abs(c) < 1e-17) break; }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  let f = 0;
  for (let n = 60; n >= 1; n--) f = n / 2 / (ax + f);
  return Math.sign(x) * (1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f));
}

export function geluRef(x: number): number { return 0.5 * x * (1 + erf(x / Math.SQRT2)); }
export function siluRef(x: number): number { return x / (1 + Math.exp(-x)); }
export function quickGeluRef(x: number): number { return x / (1 + Math.exp(-1.702 * x)); }

export function elementwiseRef(op: ElementwiseOp, a: Float32Array, b: Float32Array, bc: Broadcast,
                               alpha = 1, beta = 1): Float32Array {
  const y = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const x = a[i], v = b[Math.floor(i / bc.div) % bc.mod];
    switch (op) {
      case 'add': y[i] = x + v; break;
      case 'sub': y[i] = x - v; break;
      case 'mul': y[i] = x * v; break;
      case 'axpby': y[i] = alpha * x + beta * v; break;
      case 'scale': y[i] = alpha * x + beta; break;
      case 'silu': y[i] = siluRef(x); break;
      case 'gelu': y[i] = geluRef(x); break;
      case 'quick_gelu': y[i] = quickGeluRef(x); break;
      case 'clamp': y[i] = Math.min(Math.max(x, alpha), beta); break;
      default: throw new Error(`elementwiseRef: unknown op ${op as string}`);
    }
  }
  return y;
}
