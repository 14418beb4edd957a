// CPU reference for concat.wgsl: a [N, Ca, H, W], b [N, Cb, H, W] -> [N, Ca+Cb, H, W], a first.
export function concatChannelsRef(a: Float32Array, b: Float32Array, N: number): Float32Array {
  const sa = a.length / N, sb = b.length / N;
  const y = new Float32Array(a.length + b.length);
  for (let n = 0; n < N; n++) {
    y.set(a.subarray(n * sa, (n + 1) * sa), n * (sa + sb));
    y.set(b.subarray(n * sb, (n + 1) * sb), n * (sa + sb) + sa);
  }
  return y;
}
