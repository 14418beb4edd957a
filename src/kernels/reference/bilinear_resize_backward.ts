// CPU reference for bilinear_resize_backward.wgsl: the transpose of bilinear_resize
// (reference/bilinear_resize.ts). dy [N, C, Ho, Wo] -> dx [N, C, H, W]: every output gradient is
// scattered to its four taps with the forward's weights (as torch's upsample_bilinear2d_backward).
import { bilinearTaps } from './bilinear_resize.js';

/** dy: [N, C, Ho, Wo], inShape = [N, C, H, W] -> dx: [N, C, H, W] */
export function bilinearResizeBackwardRef(dy: ArrayLike<number>, inShape: readonly number[], Ho: number, Wo: number): Float64Array {
  const [N, C, H, W] = inShape;
  if (dy.length !== N * C * Ho * Wo) throw new Error(`bilinearResizeBackwardRef: ${dy.length} values for [${N}, ${C}, ${Ho}, ${Wo}]`);
  const ty = bilinearTaps(H, Ho), tx = bilinearTaps(W, Wo);
  const dx = new Float64Array(N * C * H * W);
  for (let pl = 0; pl < N * C; pl++) {
    const b = pl * H * W;
    for (let oy = 0; oy < Ho; oy++) for (let ox = 0; ox < Wo; ox++) {
      const g = dy[(pl * Ho + oy) * Wo + ox];
      const r0 = b + ty.i0[oy] * W, r1 = b + ty.i1[oy] * W;
      dx[r0 + tx.i0[ox]] += ty.l0[oy] * tx.l0[ox] * g;
      dx[r0 + tx.i1[ox]] += ty.l0[oy] * tx.l1[ox] * g;
      dx[r1 + tx.i0[ox]] += ty.l1[oy] * tx.l0[ox] * g;
      dx[r1 + tx.i1[ox]] += ty.l1[oy] * tx.l1[ox] * g;
    }
  }
  return dx;
}
