// GEMM with workgroup-memory tiles (for GPUs). Same contract and strides as matmul_naive.wgsl.
// A workgroup computes a (TM*WG_Y) x (TN*WG_X) tile of y; BK-deep slices of A and B are staged
// in workgroup memory as f32 ([BK][BM] and [BK][BN], 8 KiB at the defaults) and each invocation
// accumulates TM x TN outputs. Rows m0 + ty + i*WG_Y and columns n0 + tx + j*WG_X are interleaved
// so that the tile reads are conflict-free broadcasts and the stores are contiguous across tx.
// Staging walks the operand's unit-stride dimension across consecutive invocations (coalesced
// reads for x [M, K], w [N, K] and for NCHW pixels alike).
// Reference: src/kernels/reference/matmul.ts
const TM = 4u;
const TN = 4u;
override WG_X: u32 = 16u;  // invocations along n (WG_X * WG_Y <= maxComputeInvocationsPerWorkgroup)
override WG_Y: u32 = 16u;  // invocations along m
override BK: u32 = 16u;    // k depth of a staged slice

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

var<workgroup> As: array<f32, BK * WG_Y * TM>;
var<workgroup> Bs: array<f32, BK * WG_X * TN>;
var<workgroup> lnp: array<vec2f, WG_X * WG_Y>;  // LayerNorm partial sums, (row, part)
var<workgroup> lnm: array<vec2f, WG_Y * TM>;    // (mean, rstd) per tile row

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

// Copied from matmul_naive.wgsl finish_geglu
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

// Copied from matmul_naive.wgsl ln_stats
// flag 8 (LayerNorm prologue): A rows are normalised on load, (a - mean) * rstd * ln_g + ln_b,
// from statistics this kernel computes itself (shifted by the row's first value, so a large mean
// does not cancel the variance): the LayerNorm before a transformer block's GEMMs costs no pass.
fn ln_stats(s: f32, ss: f32, shift: f32) -> vec2f {
  let K = f32(p.K);
  let mu = s / K;
  return vec2f(shift + mu, inverseSqrt(max(ss / K - mu * mu, 0.0) + p.ln_eps));
}

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let BM = WG_Y * TM;
  let BN = WG_X * TN;
  let NT = WG_X * WG_Y;
  let bt = wg.z;
  let m0 = wg.y * BM;
  // GEGLU: the B tile's first BN/2 columns are h rows, the rest their gate rows (row + gate);
  // an invocation's columns j < 2 are outputs, j + 2 their gates (BN/2 = 2*WG_X since TN = 4)
  let geglu = (p.flags & 16u) != 0u;
  let n0 = wg.x * select(BN, BN / 2u, geglu);
  let abase = p.a_off + bt * p.a_sb;
  let bbase = p.b_off + bt * p.b_sb;
  let a_rows_fast = p.a_sk != 1u;  // walk m fastest when k is not the unit stride
  let b_cols_fast = p.b_sk != 1u;
  let ln = (p.flags & 8u) != 0u;  // needs unit k stride and WG_X % 4 == 0 (the wrapper checks)
  if (ln) {
    // NT / BM invocations per tile row each sum a strided part of it, then one combines
    let parts = NT / BM;
    let mm = li % BM;
    let rb = abase + min(m0 + mm, p.M - 1u) * p.a_sm;
    let sh = f32(a[rb]);
    var s = 0.0;
    var ss = 0.0;
    for (var k = li / BM; k < p.K; k += parts) { let d = f32(a[rb + k]) - sh; s += d; ss += d * d; }
    lnp[li] = vec2f(s, ss);
    workgroupBarrier();
    if (li < BM) {
      var t = vec2f(0.0);
      for (var j = 0u; j < parts; j++) { t += lnp[li + j * BM]; }
      lnm[li] = ln_stats(t.x, t.y, sh);
    }
    workgroupBarrier();
  }
  var acc: array<vec4f, TM>;  // acc[i][j]
  for (var k0 = 0u; k0 < p.K; k0 += BK) {
    for (var e = li; e < BM * BK; e += NT) {
      let mm = select(e / BK, e % BM, a_rows_fast);
      let kk = select(e % BK, e / BM, a_rows_fast);
      let m = m0 + mm;
      let k = k0 + kk;
      var v = 0.0;
      if (m < p.M && k < p.K) {
        v = f32(a[abase + m * p.a_sm + k * p.a_sk]);
        if (ln) { let st = lnm[mm]; v = (v - st.x) * st.y * f32(ln_g[k]) + f32(ln_b[k]); }
      }
      As[kk * BM + mm] = v;
    }
    for (var e = li; e < BN * BK; e += NT) {
      let nn = select(e / BK, e % BN, b_cols_fast);
      let kk = select(e % BK, e / BN, b_cols_fast);
      var n = n0 + nn;
      var row = n;
      if (geglu) { n = n0 + nn % (BN / 2u); row = n + select(0u, p.gate, nn >= BN / 2u); }
      let k = k0 + kk;
      var v = 0.0;
      if (n < p.N && k < p.K) { v = f32(b[bbase + row * p.b_sn + k * p.b_sk]); }
      Bs[kk * BN + nn] = v;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      let ar = kk * BM + lid.y;
      let br = kk * BN + lid.x;
      let av = vec4f(As[ar], As[ar + WG_Y], As[ar + 2u * WG_Y], As[ar + 3u * WG_Y]);
      let bv = vec4f(Bs[br], Bs[br + WG_X], Bs[br + 2u * WG_X], Bs[br + 3u * WG_X]);
      for (var i = 0u; i < TM; i++) { acc[i] += av[i] * bv; }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < TM; i++) {
    let m = m0 + lid.y + i * WG_Y;
    if (geglu) {
      for (var j = 0u; j < 2u; j++) {
        let n = n0 + lid.x + j * WG_X;
        if (m < p.M && n < p.N) { finish_geglu(bt, m, n, acc[i][j], acc[i][j + 2u]); }
      }
      continue;
    }
    for (var j = 0u; j < TN; j++) {
      let n = n0 + lid.x + j * WG_X;
      if (m < p.M && n < p.N) { finish(bt, m, n, acc[i][j]); }
    }
  }
}
