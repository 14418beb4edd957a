// CPU reference for conv2d_backward.wgsl and conv2d_weight_flip.wgsl, with a float64 forward for
// the finite-difference tests. conv2d (groups 1, dilation 1, pad [top, bottom, left, right]):
//   y[n, o, ho, wo] = sum_{c, i, j} x[n, c, ho*s - pt + i, wo*s - pl + j] w[o, c, i, j]
// Its input gradient scatters each dy back along the same taps (the transposed convolution):
//   dx[n, c, ih, iw] = sum_{o, i, j : ih = ho*s - pt + i, iw = wo*s - pl + j} dy[n, o, ho, wo] w[o, c, i, j]
// written here as that scatter, the plainest form of the adjoint (the kernel gathers instead).
import { convOutSize, padOf } from './conv2d.js';

export interface ConvRefGeometry {
  x: readonly number[];  // [N, C, H, W]
  w: readonly number[];  // [O, C, KH, KW]
  stride?: number;
  pad?: number | readonly [number, number, number, number];
}

function dims(g: ConvRefGeometry) {
  const [N, C, H, W] = g.x as [number, number, number, number];
  const [O, Cw, KH, KW] = g.w as [number, number, number, number];
  if (C !== Cw) throw new Error(`conv2d reference: x [${g.x}] does not fit w [${g.w}]`);
  const s = g.stride ?? 1, [pt, pb, pl, pr] = padOf(g.pad);
  return { N, C, H, W, O, KH, KW, s, pt, pl, Ho: convOutSize(H, KH, s, pt, pb), Wo: convOutSize(W, KW, s, pl, pr) };
}

/** Visits every (input, output, weight) index triple that the convolution multiplies. */
function forEachTap(g: ConvRefGeometry, f: (xi: number, yi: number, wi: number) => void): void {
  const { N, C, H, W, O, KH, KW, s, pt, pl, Ho, Wo } = dims(g);
  for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) for (let ho = 0; ho < Ho; ho++) for (let wo = 0; wo < Wo; wo++) {
    const yi = ((n * O + o) * Ho + ho) * Wo + wo;
    for (let c = 0; c < C; c++) for (let i = 0; i < KH; i++) {
      const ih = ho * s - pt + i;
      if (ih < 0 || ih >= H) continue;
      for (let j = 0; j < KW; j++) {
        const iw = wo * s - pl + j;
        if (iw >= 0 && iw < W) f(((n * C + c) * H + ih) * W + iw, yi, ((o * C + c) * KH + i) * KW + j);
      }
    }
  }
}

/** The output shape [N, O, Ho, Wo]. */
export function convOutShape(g: ConvRefGeometry): [number, number, number, number] {
  const d = dims(g);
  return [d.N, d.O, d.Ho, d.Wo];
}

/** float64 forward (no bias: it does not change dx). */
export function conv2dRef64(x: ArrayLike<number>, w: ArrayLike<number>, g: ConvRefGeometry): Float64Array {
  const y = new Float64Array(convOutShape(g).reduce((a, b) => a * b, 1));
  forEachTap(g, (xi, yi, wi) => { y[yi] += x[xi] * w[wi]; });
  return y;
}

/** dy: [N, O, Ho, Wo], w: [O, C, KH, KW], acc: [N, C, H, W] or null -> dx [N, C, H, W] */
export function conv2dBackwardRef(dy: ArrayLike<number>, w: ArrayLike<number>, g: ConvRefGeometry,
                                  acc: ArrayLike<number> | null = null): Float64Array {
  const nx = g.x.reduce((a, b) => a * b, 1);
  if (dy.length !== convOutShape(g).reduce((a, b) => a * b, 1) || w.length !== g.w.reduce((a, b) => a * b, 1)) {
    throw new Error('conv2dBackwardRef: sizes do not match');
  }
  const dx = acc ? Float64Array.from(acc) : new Float64Array(nx);
  forEachTap(g, (xi, yi, wi) => { dx[xi] += dy[yi] * w[wi]; });
  return dx;
}

/** w [O, C, KH, KW] -> [C, O, KH, KW] with the taps rotated 180 degrees. */
export function flipConvWeightsRef(w: ArrayLike<number>, shape: readonly number[]): Float64Array {
  const [O, C, KH, KW] = shape as [number, number, number, number];
  const KK = KH * KW, wf = new Float64Array(O * C * KK);
  for (let o = 0; o < O; o++) for (let c = 0; c < C; c++) for (let t = 0; t < KK; t++) {
    wf[(c * O + o) * KK + t] = w[(o * C + c) * KK + (KK - 1 - t)];
  }
  return wf;
}
