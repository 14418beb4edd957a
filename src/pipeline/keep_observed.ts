// Keeping what was observed (ours, on top of the paper; method.md marks the paper's parts) — the
// counterpart of keep_known.ts for super-resolution, deblurring and colourisation. The sampler fits
// A(x) ≈ y only through the latent and the decoder, so the decoded result misses the observation
// (RMS 4-5/255 on the embedded model) and its channel means drift (a tint on a grey model). After
// decoding, the result is moved by the smallest correction that makes it agree with y:
//   x' = x + Aᵀ λ,  (A Aᵀ) λ = y − A x        (the orthogonal projection onto {x : A x = y})
// solved per image by conjugate gradients in float64 on the CPU with the operator's own per-axis
// matrices (the ones the sampler used on the GPU). When y = A(x_true), every CG iterate is at least
// as close to x_true as x is — CG minimises ||Aᵀ(λ − λ*)|| = ||x' − P x|| over growing Krylov spaces,
// and x − x_true splits into that part and a null-space part the correction never touches — so the
// projection cannot lower PSNR on an exact observation. A quantised (8-bit) or noisy y makes the
// ill-conditioned directions of A Aᵀ (a blur's high frequencies) amplify noise as CG goes on, so
// the iterations are capped (semi-convergence); the cap is chosen on the validation split
// (bench/keep_observed.ts).
import type { Matrix, OperatorAxes } from '../sampler/constraints/pixel_operators.js';

/** The observation operator as per-axis matrices: channels (axis 1), rows (axis 2), columns (axis 3). */
export type SeparableAxes = OperatorAxes;

export interface KeepObservedOptions {
  /** conjugate-gradient iterations (0: no change) */
  iterations: number;
}

/** Default CG iterations, chosen on validation images (bench/RESULTS.md "Keeping what was observed"). */
export const KEEP_OBSERVED_ITERATIONS = 8;

/**
 * result: [N, C, H, W]; y: the observation [N, C', H', W'] = A(result)'s shape. Returns a new array.
 * Also the residual RMS before and after (in the images' units) for reporting.
 */
export function keepObserved(result: Float32Array, y: Float32Array, shape: readonly [number, number, number, number],
                             axes: SeparableAxes, { iterations }: KeepObservedOptions): { image: Float32Array; before: number; after: number } {
  const [N, C, H, W] = shape;
  const op = new SeparableCpu(axes, C, H, W);
  const inLen = C * H * W, outLen = op.outLen;
  if (result.length !== N * inLen) throw new Error(`keepObserved: the result has ${result.length} values for [${shape}]`);
  if (y.length !== N * outLen) throw new Error(`keepObserved: the observation has ${y.length} values, expected ${N} x ${op.outShape.join('x')}`);
  if (!(Number.isInteger(iterations) && iterations >= 0)) throw new Error(`keepObserved: iterations must be an integer >= 0 (got ${iterations})`);
  const image = new Float32Array(result.length);
  let before = 0, after = 0;
  for (let n = 0; n < N; n++) {
    const x = Float64Array.from(result.subarray(n * inLen, (n + 1) * inLen));
    const yn = y.subarray(n * outLen, (n + 1) * outLen);
    const r = residual(op, x, yn);
    before += dot(r, r);
    // CG on (A Aᵀ) λ = r, λ0 = 0
    const lambda = new Float64Array(outLen), p = Float64Array.from(r);
    let rr = dot(r, r);
    for (let k = 0; k < iterations && rr > 0; k++) {
      const q = op.forward(op.adjoint(p));
      const pq = dot(p, q);
      if (!(pq > 0)) break;                              // p in A Aᵀ's null space: nothing left to fit
      const a = rr / pq;
      for (let i = 0; i < outLen; i++) { lambda[i] += a * p[i]!; r[i] -= a * q[i]!; }
      const rrNext = dot(r, r);
      const b = rrNext / rr;
      for (let i = 0; i < outLen; i++) p[i] = r[i]! + b * p[i]!;
      rr = rrNext;
    }
    const corr = op.adjoint(lambda);
    for (let i = 0; i < inLen; i++) x[i] += corr[i]!;
    const rAfter = residual(op, x, yn);
    after += dot(rAfter, rAfter);
    image.set(x, n * inLen);
  }
  return { image, before: Math.sqrt(before / (N * outLen)), after: Math.sqrt(after / (N * outLen)) };
}

/** A(x) on the host for images [N, C, H, W] (colourisation's observation of a colour input). */
export function observe(x: Float32Array, shape: readonly [number, number, number, number], axes: SeparableAxes): { data: Float32Array; shape: [number, number, number, number] } {
  const [N, C, H, W] = shape;
  const op = new SeparableCpu(axes, C, H, W), inLen = C * H * W;
  const out = new Float32Array(N * op.outLen);
  for (let n = 0; n < N; n++) out.set(op.forward(Float64Array.from(x.subarray(n * inLen, (n + 1) * inLen))), n * op.outLen);
  return { data: out, shape: [N, ...op.outShape] };
}

function residual(op: SeparableCpu, x: Float64Array, y: ArrayLike<number>): Float64Array {
  const ax = op.forward(x);
  for (let i = 0; i < ax.length; i++) ax[i] = y[i]! - ax[i]!;
  return ax;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** A banded view of a dense matrix: each row's nonzero column range. */
interface Banded { rows: number; cols: number; data: Float32Array; lo: Int32Array; hi: Int32Array }

function banded(m: Matrix): Banded {
  const lo = new Int32Array(m.rows), hi = new Int32Array(m.rows);
  for (let i = 0; i < m.rows; i++) {
    let a = m.cols, b = 0;
    for (let j = 0; j < m.cols; j++) if (m.data[i * m.cols + j] !== 0) { a = Math.min(a, j); b = j + 1; }
    lo[i] = a; hi[i] = Math.max(a, b);
  }
  return { ...m, lo, hi };
}

/** The separable operator on one image [C, H, W] in float64, forward and adjoint (a CPU twin of SeparableOperator). */
class SeparableCpu {
  private readonly axes: [1 | 2 | 3, Banded][] = [];
  readonly outShape: [number, number, number];
  constructor(axes: SeparableAxes, readonly C: number, readonly H: number, readonly W: number) {
    const dims: [number, number, number] = [C, H, W];
    for (const [axis, m] of [[1, axes.c], [2, axes.h], [3, axes.w]] as const) {
      if (!m) continue;
      if (m.cols !== dims[axis - 1]) throw new Error(`keepObserved: the axis-${axis} matrix has ${m.cols} columns for a dimension of ${dims[axis - 1]}`);
      dims[axis - 1] = m.rows;
      this.axes.push([axis, banded(m)]);
    }
    if (!this.axes.length) throw new Error('keepObserved: the operator has no axis matrix');
    this.outShape = dims;
  }
  get outLen(): number { return this.outShape[0] * this.outShape[1] * this.outShape[2]; }

  forward(x: Float64Array): Float64Array {
    let cur = x, dims: [number, number, number] = [this.C, this.H, this.W];
    for (const [axis, m] of this.axes) ({ out: cur, dims } = applyAxis(cur, dims, axis, m, false));
    return cur;
  }

  adjoint(y: Float64Array): Float64Array {
    let cur = y, dims: [number, number, number] = [...this.outShape];
    for (const [axis, m] of [...this.axes].reverse()) ({ out: cur, dims } = applyAxis(cur, dims, axis, m, true));
    return cur;
  }
}

/** out = M (or Mᵀ) applied along `axis` of a [D1, D2, D3] array. */
function applyAxis(x: Float64Array, dims: [number, number, number], axis: 1 | 2 | 3, m: Banded, transposed: boolean): { out: Float64Array; dims: [number, number, number] } {
  const nIn = dims[axis - 1]!, nOut = transposed ? m.cols : m.rows;
  if (nIn !== (transposed ? m.rows : m.cols)) throw new Error(`keepObserved: axis ${axis} has ${nIn} entries for a ${m.rows}x${m.cols} matrix${transposed ? ' (transposed)' : ''}`);
  const outDims: [number, number, number] = [...dims];
  outDims[axis - 1] = nOut;
  // the array as [outer, n, inner] around the axis
  const outer = dims.slice(0, axis - 1).reduce((a, b) => a * b, 1), inner = dims.slice(axis).reduce((a, b) => a * b, 1);
  const out = new Float64Array(outer * nOut * inner);
  for (let o = 0; o < outer; o++) {
    const xb = o * nIn * inner, ob = o * nOut * inner;
    for (let i = 0; i < m.rows; i++) for (let j = m.lo[i]!; j < m.hi[i]!; j++) {
      const v = m.data[i * m.cols + j]!;
      if (v === 0) continue;
      // forward: out[i] += M[i, j] x[j]; transposed: out[j] += M[i, j] x[i]
      const src = xb + (transposed ? i : j) * inner, dst = ob + (transposed ? j : i) * inner;
      for (let k = 0; k < inner; k++) out[dst + k] += v * x[src + k]!;
    }
  }
  return { out, dims: outDims };
}
