// CPU reference for upsample_nearest.wgsl: x [N, C, H, W] -> [N, C, outH, outW].
// PyTorch's nearest_idx (aten/src/ATen/native/UpSample.h): identity when sizes match, i >> 1 for
// exactly 2x, else min(floorf(i * scale), in - 1) with scale = (float)in / out, all in float32.
export function nearestIndexRef(i: number, nIn: number, nOut: number): number {
  if (nOut === nIn) return i;
  if (nOut === 2 * nIn) return i >> 1;
  const scale = Math.fround(nIn / nOut);
  return Math.min(Math.floor(Math.fround(i * scale)), nIn - 1);
}

export function upsampleNearestRef(x: Float32Array, shape: readonly number[], outH: number, outW: number): Float32Array {
  const [N, C, H, W] = shape;
  const y = new Float32Array(N * C * outH * outW);
  for (let nc = 0; nc < N * C; nc++) {
    for (let oy = 0; oy < outH; oy++) {
      const sy = nearestIndexRef(oy, H, outH);
      for (let ox = 0; ox < outW; ox++) y[(nc * outH + oy) * outW + ox] = x[(nc * H + sy) * W + nearestIndexRef(ox, W, outW)];
    }
  }
  return y;
}
