// CPU reference for timestep_embedding.wgsl, in float64 throughout:
//   t [N] -> [N, dim]; freq_i = exp(-ln(maxPeriod) * i / (half - freqShift)), arg = scale * t * freq,
//   cat(sin, cos) (cos first when flipSinToCos), zero last column for odd dim.
// (diffusers rounds freq and arg to float32; at t ~ 1000 that alone moves arg by ~1e-5..1e-4.)
export function timestepEmbeddingRef(t: ArrayLike<number>, dim: number, flipSinToCos = true, freqShift = 0,
                                     maxPeriod = 10000, scale = 1): Float32Array {
  const half = Math.floor(dim / 2);
  const y = new Float32Array(t.length * dim);
  for (let n = 0; n < t.length; n++) {
    for (let i = 0; i < half; i++) {
      const arg = scale * t[n] * Math.exp((-Math.log(maxPeriod) * i) / (half - freqShift));
      const [first, second] = flipSinToCos ? [Math.cos(arg), Math.sin(arg)] : [Math.sin(arg), Math.cos(arg)];
      y[n * dim + i] = first;
      y[n * dim + half + i] = second;
    }
  }
  return y;
}
