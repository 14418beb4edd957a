// CPU reference for upsample_nearest_backward.wgsl: the adjoint of nearest upsampling, written as
// the scatter of dy to the source index the forward copied from (nearestIndexRef), float64.
// For exact 2x that is the sum of each 2x2 block.
import { nearestIndexRef } from './upsample_nearest.js';

/** float64 forward: x [N, C, H, W] -> [N, C, outH, outW] */
export function upsampleNearestRef64(x: ArrayLike<number>, shape: readonly number[], outH: number, outW: number): Float64Array {
  const [N, C, H, W] = shape as [number, number, number, number];
  const y = new Float64Array(N * C * outH * outW);
  for (let nc = 0; nc < N * C; nc++) for (let oy = 0; oy < outH; oy++) for (let ox = 0; ox < outW; ox++) {
    y[(nc * outH + oy) * outW + ox] = x[(nc * H + nearestIndexRef(oy, H, outH)) * W + nearestIndexRef(ox, W, outW)];
  }
  return y;
}

/** dy: [N, C, outH, outW], shape: the input's [N, C, H, W] -> dx */
export function upsampleNearestBackwardRef(dy: ArrayLike<number>, shape: readonly number[], outH: number, outW: number): Float64Array {
  const [N, C, H, W] = shape as [number, number, number, number];
  if (dy.length !== N * C * outH * outW) throw new Error('upsampleNearestBackwardRef: sizes do not match');
  const dx = new Float64Array(N * C * H * W);
  for (let nc = 0; nc < N * C; nc++) for (let oy = 0; oy < outH; oy++) for (let ox = 0; ox < outW; ox++) {
    dx[(nc * H + nearestIndexRef(oy, H, outH)) * W + nearestIndexRef(ox, W, outW)] += dy[(nc * outH + oy) * outW + ox];
  }
  return dx;
}
