// CPU reference for src/kernels/wgsl/axis_matmul.wgsl (float64 sums).
export function axisMatmulRef(x: Float32Array, shape: number[], m: Float32Array, lOut: number, axis: number): Float32Array {
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const lIn = shape[axis];
  const y = new Float32Array(outer * lOut * inner);
  for (let o = 0; o < outer; o++) for (let i = 0; i < lOut; i++) for (let r = 0; r < inner; r++) {
    let acc = 0;
    for (let q = 0; q < lIn; q++) acc += m[i * lIn + q] * x[(o * lIn + q) * inner + r];
    y[(o * lOut + i) * inner + r] = acc;
  }
  return y;
}
