// CPU reference for bilinear_resize.wgsl: x [N, C, H, W] -> [N, C, Ho, Wo], exactly torch 1.13's
// upsample_bilinear2d with align_corners=False and no antialiasing (golden goldens_style README):
// per axis, scale = float32(n_in / n_out); src = max(0, scale * (d + 0.5) - 0.5) in double;
// i0 = min(floor(src), n_in - 1); i1 = i0 + (i0 < n_in - 1); l1 = float32(src - i0); l0 = 1 - l1.
// No low-pass filter: a 2x downscale averages 2x2 blocks, other factors sample 2 taps per axis.
// Arithmetic in float64 (the FD tests differentiate it).

export interface AxisTaps { i0: Int32Array; i1: Int32Array; l0: Float64Array; l1: Float64Array }

/** The two taps and weights of every output index along one axis (weights rounded to f32 as torch). */
export function bilinearTaps(nIn: number, nOut: number): AxisTaps {
  if (!(nIn >= 1 && nOut >= 1)) throw new Error(`bilinearTaps: sizes ${nIn} -> ${nOut}`);
  const scale = Math.fround(nIn / nOut);
  const t: AxisTaps = { i0: new Int32Array(nOut), i1: new Int32Array(nOut), l0: new Float64Array(nOut), l1: new Float64Array(nOut) };
  for (let d = 0; d < nOut; d++) {
    const src = Math.max(0, scale * (d + 0.5) - 0.5);
    const i0 = Math.min(Math.floor(src), nIn - 1);
    const l1 = Math.fround(src - i0);
    t.i0[d] = i0;
    t.i1[d] = i0 + (i0 < nIn - 1 ? 1 : 0);
    t.l1[d] = l1;
    t.l0[d] = Math.fround(1 - l1);
  }
  return t;
}

/** x: [N, C, H, W] -> [N, C, Ho, Wo] */
export function bilinearResizeRef(x: ArrayLike<number>, shape: readonly number[], Ho: number, Wo: number): Float64Array {
  const [N, C, H, W] = shape;
  if (x.length !== N * C * H * W) throw new Error(`bilinearResizeRef: ${x.length} values for [${shape}]`);
  const ty = bilinearTaps(H, Ho), tx = bilinearTaps(W, Wo);
  const y = new Float64Array(N * C * Ho * Wo);
  for (let pl = 0; pl < N * C; pl++) {
    const b = pl * H * W;
    for (let oy = 0; oy < Ho; oy++) for (let ox = 0; ox < Wo; ox++) {
      const r0 = b + ty.i0[oy] * W, r1 = b + ty.i1[oy] * W;
      y[(pl * Ho + oy) * Wo + ox] =
        ty.l0[oy] * (tx.l0[ox] * x[r0 + tx.i0[ox]] + tx.l1[ox] * x[r0 + tx.i1[ox]]) +
        ty.l1[oy] * (tx.l0[ox] * x[r1 + tx.i0[ox]] + tx.l1[ox] * x[r1 + tx.i1[ox]]);
    }
  }
  return y;
}
