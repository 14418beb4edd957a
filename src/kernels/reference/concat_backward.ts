// CPU reference for concat_backward.ts, with a float64 forward for the finite-difference tests:
// the adjoint of cat([a, b], dim=1) is the split of dy at channel Ca, per sample.

/** float64 forward of concat.wgsl on one flat vector holding a [N, Ca, HW] then b [N, Cb, HW] */
export function concatChannelsRef64(ab: ArrayLike<number>, N: number, sa: number, sb: number): Float64Array {
  const y = new Float64Array(N * (sa + sb));
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < sa; i++) y[n * (sa + sb) + i] = ab[n * sa + i];
    for (let i = 0; i < sb; i++) y[n * (sa + sb) + sa + i] = ab[N * sa + n * sb + i];
  }
  return y;
}

/** dy: [N, Ca+Cb, HW] -> [da, db] (sa = Ca*HW, sb = Cb*HW values per sample) */
export function splitChannelsRef(dy: ArrayLike<number>, N: number, sa: number, sb: number): [Float64Array, Float64Array] {
  if (dy.length !== N * (sa + sb)) throw new Error('splitChannelsRef: sizes do not match');
  const da = new Float64Array(N * sa), db = new Float64Array(N * sb);
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < sa; i++) da[n * sa + i] = dy[n * (sa + sb) + i];
    for (let i = 0; i < sb; i++) db[n * sb + i] = dy[n * (sa + sb) + sa + i];
  }
  return [da, db];
}
