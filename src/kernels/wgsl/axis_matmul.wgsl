// Applies a small dense matrix along one axis of a tensor viewed as [outer, L_in, inner]:
//   y[o, i, r] = sum_p M[i, p] * x[o, p, r]          (y: [outer, L_out, inner], M: [L_out, L_in])
// With M = a resampling matrix along H or W this is one pass of a separable image operator
// (antialiased bicubic or box downscale, Gaussian blur); along C it mixes channels (grey-scale).
// The adjoint is the same kernel with M transposed. M is f32 and built on the CPU.
// Reference: src/kernels/reference/axis_matmul.ts
override WG: u32 = 256u;

struct Params { outer: u32, l_in: u32, l_out: u32, inner: u32, row_stride: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<T>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let idx = (wg.y * p.row_stride + wg.x) * WG + li;
  if (idx >= p.outer * p.l_out * p.inner) { return; }
  let r = idx % p.inner;
  let i = (idx / p.inner) % p.l_out;
  let o = idx / (p.inner * p.l_out);
  let xBase = o * p.l_in * p.inner + r;
  let mBase = i * p.l_in;
  var acc = 0.0;
  for (var q = 0u; q < p.l_in; q++) {
    acc += m[mBase + q] * f32(x[xBase + q * p.inner]);
  }
  y[idx] = T(acc);
}
