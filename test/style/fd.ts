// Finite-difference checks of backward kernels: the gradient g of L(x) = <dy, f(x)> (dy a random
// upstream gradient) must satisfy <g, v> ~= (L(x + h v) - L(x - h v)) / (2 h) for random v, with f
// the float64 CPU forward (central differences, so the error is O(h^2) plus rounding ~1e-16 / h).
import { expect } from 'vitest';
import { randn } from '../helpers/numeric.js';

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

const norm = (a: ArrayLike<number>) => Math.sqrt(dot(a, a));

/** Central difference of x -> <dy, f(x)> along v. */
export function directionalFd(f: (x: Float64Array) => ArrayLike<number>, x: ArrayLike<number>, dy: ArrayLike<number>,
                              v: ArrayLike<number>, h = 1e-5): number {
  const xp = Float64Array.from(x, (a, i) => a + h * v[i]);
  const xm = Float64Array.from(x, (a, i) => a - h * v[i]);
  return (dot(dy, f(xp)) - dot(dy, f(xm))) / (2 * h);
}

export interface FdResult { worst: number; report: string }

/**
 * Compares <g, v> against the central difference for `dirs` random directions. The error is
 * measured against |g| |v| (the Cauchy-Schwarz bound of <g, v>), so a direction that happens to
 * be nearly orthogonal to g does not inflate it. Returns the worst error.
 */
export function fdError(f: (x: Float64Array) => ArrayLike<number>, x: ArrayLike<number>, dy: ArrayLike<number>,
                        g: ArrayLike<number>, seed: number, dirs = 3, h = 1e-5): FdResult {
  let worst = 0;
  const parts: string[] = [];
  for (let d = 0; d < dirs; d++) {
    const v = randn(x.length, seed + 1000 * d);
    const fd = directionalFd(f, x, dy, v, h);
    const an = dot(g, v);
    const err = Math.abs(an - fd) / Math.max(norm(g) * norm(v), 1e-300);
    worst = Math.max(worst, Number.isNaN(err) ? Infinity : err);
    parts.push(`<g,v> ${an.toPrecision(8)} fd ${fd.toPrecision(8)} err ${err.toExponential(2)}`);
  }
  return { worst, report: parts.join('; ') };
}

/** GPU gradients are float32: 1e-5 of |g||v|; float64 references: 1e-8. */
export function expectFd(r: FdResult, tol: number, what: string): void {
  if (!(r.worst <= tol)) expect.fail(`${what}: finite differences disagree (tol ${tol}): ${r.report}`);
}
