// GEMM, one output per invocation: the yardstick of bench/kernels.ts and the simplest variant.
//   y[b, m, n] = alpha * sum_k A(b, m, k) * B(b, k, n)  (+ bias[n])  (+ residual[b, m, n])  (+ y[b, m, n])
// Operands are read through strides, so one kernel serves linear (x [M, K] times w [N, K]^T),
// bmm with either operand transposed and 1x1 convolution (NCHW pixels as rows):
//   A(b, m, k) = a[a_off + b*a_sb + m*a_sm + k*a_sk]    B(b, k, n) = b[b_off + b*b_sb + n*b_sn + k*b_sk]
//   y and residual at (y_off | r_off) + b*y_sb + m*y_sm + n*y_sn
// flags: 1 bias, 2 residual, 4 accumulate into y (partial sums over K chunks). f32 accumulation.
// Reference: src/kernels/reference/matmul.ts
override WG_X: u32 = 16u;  // invocations along n
override WG_Y: u32 = 16u;  // invocations along m

struct Params {
  M: u32, N: u32, K: u32,
  a_off: u32, a_sb: u32, a_sm: u32, a_sk: u32,
  b_off: u32, b_sb: u32, b_sn: u32, b_sk: u32,
  y_off: u32, y_sb: u32, y_sm: u32, y_sn: u32,
  r_off: u32, bias_off: u32, alpha: f32, flags: u32,
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<T>;
@group(0) @binding(2) var<storage, read> b: array<W>;
@group(0) @binding(3) var<storage, read> bias: array<W>;
@group(0) @binding(4) var<storage, read> residual: array<T>;
@group(0) @binding(5) var<storage, read_write> y: array<T>;

// The shared epilogue: scale, bias, residual, accumulate, one rounding to T.
fn finish(bt: u32, m: u32, n: u32, acc: f32) {
  var v = p.alpha * acc;
  if ((p.flags & 1u) != 0u) { v += f32(bias[p.bias_off + n]); }
  let rel = bt * p.y_sb + m * p.y_sm + n * p.y_sn;
  if ((p.flags & 2u) != 0u) { v += f32(residual[p.r_off + rel]); }
  if ((p.flags & 4u) != 0u) { v += f32(y[p.y_off + rel]); }
  y[p.y_off + rel] = T(v);
}

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let n = g.x;
  let m = g.y;
  let bt = g.z;
  if (m >= p.M || n >= p.N) { return; }
  let ar = p.a_off + bt * p.a_sb + m * p.a_sm;
  let bc = p.b_off + bt * p.b_sb + n * p.b_sn;
  var acc = 0.0;
  for (var k = 0u; k < p.K; k++) {
    acc += f32(a[ar + k * p.a_sk]) * f32(b[bc + k * p.b_sk]);
  }
  finish(bt, m, n, acc);
}
