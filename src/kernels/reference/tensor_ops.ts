// CPU references for tensor_ops.ts (fill.wgsl, copy_range.wgsl and the copy paths).
/** x [B, row] -> x[start : start + count] */
export function slice0Ref(x: Float32Array, B: number, start: number, count: number): Float32Array {
  const row = x.length / B;
  return x.slice(start * row, (start + count) * row);
}

/** torch.cat(dim=0) of dense row-major tensors = concatenation of their data */
export function concat0Ref(xs: readonly Float32Array[]): Float32Array {
  const y = new Float32Array(xs.reduce((s, x) => s + x.length, 0));
  let off = 0;
  for (const x of xs) { y.set(x, off); off += x.length; }
  return y;
}

export function fillRef(n: number, value: number): Float32Array {
  return new Float32Array(n).fill(value);
}
