// Comparison of a result against its reference: max abs error relative to the reference's scale,
// plus NMSE (ggml's metric). On failure the message lists the first mismatching pairs (llm.c).
import { expect } from 'vitest';
import { f16BitsToF32, f32ToF16Bits } from '../../src/gpu/half.js';
import { Rng } from '../../src/util/rng.js';

export interface Tolerance {
  /** max |got - want| <= atol * scale + rtol * |want| where scale = max |want| (default 1e-4) */
  atol?: number;
  rtol?: number;
  /** sum (got-want)^2 / sum want^2 */
  maxNmse?: number;
  /** scale used for atol (default: max |want|, at least 1) */
  scale?: number;
}

export const F32_TOL: Tolerance = { atol: 1e-4, rtol: 1e-4, maxNmse: 1e-7 };
export const F16_TOL: Tolerance = { atol: 5e-3, rtol: 5e-3, maxNmse: 1e-5 };

export function compare(got: ArrayLike<number>, want: ArrayLike<number>, tol: Tolerance = F32_TOL) {
  if (got.length !== want.length) return { ok: false, report: `length ${got.length} != ${want.length}`, maxDiff: Infinity, nmse: Infinity };
  let maxAbs = 0;
  for (let i = 0; i < want.length; i++) maxAbs = Math.max(maxAbs, Math.abs(want[i]));
  const scale = tol.scale ?? Math.max(maxAbs, 1e-30);
  const atol = (tol.atol ?? 1e-4) * scale, rtol = tol.rtol ?? 1e-4;
  let maxDiff = 0, num = 0, den = 0, bad = 0;
  const firstBad: string[] = [];
  for (let i = 0; i < want.length; i++) {
    const g = got[i], w = want[i], d = Math.abs(g - w);
    num += (g - w) ** 2; den += w * w;
    if (!(d <= atol + rtol * Math.abs(w))) {
      bad++;
      if (firstBad.length < 5) firstBad.push(`[${i}] got ${g} want ${w}`);
    }
    if (!(d <= maxDiff)) maxDiff = Number.isNaN(d) ? NaN : Math.max(maxDiff, d);
  }
  const nmse = den > 0 ? num / den : num;
  const nmseOk = tol.maxNmse === undefined || nmse <= tol.maxNmse;
  const ok = bad === 0 && nmseOk && !Number.isNaN(maxDiff);
  const report = `max|diff| ${maxDiff.toExponential(3)} (scale ${scale.toExponential(3)}), nmse ${nmse.toExponential(3)}, ` +
    `${bad}/${want.length} outside tolerance${firstBad.length ? ': ' + firstBad.join(', ') : ''}`;
  return { ok, report, maxDiff, nmse };
}

export function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: Tolerance = F32_TOL, what = ''): void {
  const r = compare(got, want, tol);
  if (!r.ok) expect.fail(`${what ? what + ': ' : ''}${r.report}`);
}

export function randn(n: number, seed: number, scale = 1): Float32Array {
  const a = new Rng(seed).normals(n);
  if (scale !== 1) for (let i = 0; i < n; i++) a[i] *= scale;
  return a;
}

export function randu(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  return new Rng(seed).uniforms(n, lo, hi);
}

/** Rounds values to f16 precision (to feed a CPU reference the same inputs the f16 kernel sees). */
export function roundF16(a: Float32Array): Float32Array {
  return a.map((v) => f16BitsToF32(f32ToF16Bits(v)));
}
