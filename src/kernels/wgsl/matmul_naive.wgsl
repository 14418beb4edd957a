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
  gate: u32, ln_eps: f32,  // GEGLU: gate rows of B start at row `gate`; LayerNorm eps
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<T>;
@group(0) @binding(2) var<storage, read> b: array<W>;
@group(0) @binding(3) var<storage, read> bias: array<W>;
@group(0) @binding(4) var<storage, read> residual: array<T>;
@group(0) @binding(5) var<storage, read_write> y: array<T>;
@group(0) @binding(6) var<storage, read> ln_g: array<W>;
@group(0) @binding(7) var<storage, read> ln_b: array<W>;

// The shared epilogue: scale, bias, residual, accumulate, one rounding to T.
fn finish(bt: u32, m: u32, n: u32, acc: f32) {
  var v = p.alpha * acc;
  if ((p.flags & 1u) != 0u) { v += f32(bias[p.bias_off + n]); }
  // 32: SiLU of (alpha * acc + bias) (the time-embedding MLP's activations), before residual / accumulate
  if ((p.flags & 32u) != 0u) { v = v / (1.0 + exp(-v)); }
  let rel = bt * p.y_sb + m * p.y_sm + n * p.y_sn;
  if ((p.flags & 2u) != 0u) { v += f32(residual[p.r_off + rel]); }
  if ((p.flags & 4u) != 0u) { v += f32(y[p.y_off + rel]); }
  y[p.y_off + rel] = T(v);
}

// Copied from elementwise.wgsl erf_approx
// erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): WGSL has no erf builtin.
fn erf_approx(x: f32) -> f32 {
  let t = 1.0 / (1.0 + 0.3275911 * abs(x));
  let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return sign(x) * (1.0 - poly * exp(-x * x));
}

// flag 16 (GEGLU, diffusers' FeedForward net.0): output column n is h * gelu(g) with h from B row
// n and g from B row gate + n, both already accumulated by this invocation (no [rows, 2C] buffer).
fn finish_geglu(bt: u32, m: u32, n: u32, ah: f32, ag: f32) {
  var h = p.alpha * ah;
  var g = p.alpha * ag;
  if ((p.flags & 1u) != 0u) { h += f32(bias[p.bias_off + n]); g += f32(bias[p.bias_off + p.gate + n]); }
  var v = h * 0.5 * g * (1.0 + erf_approx(g * 0.7071067811865476));
  let rel = bt * p.y_sb + m * p.y_sm + n * p.y_sn;
  if ((p.flags & 2u) != 0u) { v += f32(residual[p.r_off + rel]); }
  if ((p.flags & 4u) != 0u) { v += f32(y[p.y_off + rel]); }
  y[p.y_off + rel] = T(v);
}

// flag 8 (LayerNorm prologue): A rows are normalised on load, (a - mean) * rstd * ln_g + ln_b,
// from statistics this kernel computes itself (shifted by the row's first value, so a large mean
// does not cancel the variance): the LayerNorm before a transformer block's GEMMs costs no pass.
fn ln_stats(s: f32, ss: f32, shift: f32) -> vec2f {
  let K = f32(p.K);
  let mu = s / K;
  return vec2f(shift + mu, inverseSqrt(max(ss / K - mu * mu, 0.0) + p.ln_eps));
}

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let n = g.x;
  let m = g.y;
  let bt = g.z;
  if (m >= p.M || n >= p.N) { return; }
  let ar = p.a_off + bt * p.a_sb + m * p.a_sm;
  let bc = p.b_off + bt * p.b_sb + n * p.b_sn;
  let ln = (p.flags & 8u) != 0u;
  var st = vec2f(0.0, 1.0);
  if (ln) {
    let sh = f32(a[ar]);
    var s = 0.0;
    var ss = 0.0;
    for (var k = 0u; k < p.K; k++) { let d = f32(a[ar + k * p.a_sk]) - sh; s += d; ss += d * d; }
    st = ln_stats(s, ss, sh);
  }
  var acc = 0.0;
  var accg = 0.0;
  for (var k = 0u; k < p.K; k++) {
    var av = f32(a[ar + k * p.a_sk]);
    if (ln) { av = (av - st.x) * st.y * f32(ln_g[k]) + f32(ln_b[k]); }
    acc += av * f32(b[bc + k * p.b_sk]);
    if ((p.flags & 16u) != 0u) { accg += av * f32(b[bc + p.gate * p.b_sn + k * p.b_sk]); }
  }
  if ((p.flags & 16u) != 0u) { finish_geglu(bt, m, n, acc, accg); } else { finish(bt, m, n, acc); }
}
