// Flash-style attention backward, pass 1 of 2: dq, with the row statistics pass 2 needs.
// q [B, Nq, heads*D], k/v [B, Nk, heads*D], dO [B, Nq, heads*D] -> dq [B, Nq, heads*D] and
// stats [B*heads, Nq, 2] = (lse_i, delta_i) in f32. The Nq x Nk scores are never stored:
// with s_ij = scale q_i.k_j, P_ij = softmax_j(s_ij), dP_ij = dO_i.v_j, delta_i = sum_j P_ij dP_ij,
//   dq_i = scale * sum_j P_ij (dP_ij - delta_i) k_j = scale * (sum_j P_ij dP_ij k_j - delta_i sum_j P_ij k_j)
// so one walk over the keys with an online softmax (running max m, sum l; sums rescaled by
// exp(m_old - m_new) per tile, as the forward's accumulator) gives dq, lse = m + log(l) and delta
// at once: no forward logsumexp needs saving, and cross-attention (dq only) is this pass alone.
// Layout as attention_tiled.wgsl: one invocation per query row (q, dO and both sums in
// registers), BK keys' K and V rows staged in workgroup memory per tile (coalesced loads, then
// broadcast reads). f32 math whatever T is. D <= 4*DMAX4; any D (scalar loads, zero lanes).
// Reference: src/kernels/reference/attention_flash_backward.ts
override WG: u32 = 64u;   // invocations = query rows per workgroup
override BK: u32 = 16u;   // keys per tile, <= BKMAX
override D4: u32 = 10u;   // ceil(D / 4): a constant, so the d loops unroll into registers
override KT: u32 = 160u;  // BK * D4: vec4 per tile
const DMAX4 = 64u;
const BKMAX = 64u;
const NEG = -1.0e30;      // finite "minus infinity": exp(NEG - m) == 0, never inf - inf = NaN

struct Params { Nq: u32, Nk: u32, heads: u32, D: u32, scale: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<T>;
@group(0) @binding(2) var<storage, read> k: array<T>;
@group(0) @binding(3) var<storage, read> v: array<T>;
@group(0) @binding(4) var<storage, read> dO: array<T>;
@group(0) @binding(5) var<storage, read_write> dq: array<T>;
@group(0) @binding(6) var<storage, read_write> stats: array<f32>;
var<workgroup> kt: array<vec4f, KT>;
var<workgroup> vt: array<vec4f, KT>;

// Loaders, one per binding (WGSL cannot pass storage arrays): channels 4*c .. 4*c+3 of the row
// at `base`, zero past D.
// Copied from attention_tiled.wgsl ld_q
fn ld_q(base: u32, c: u32) -> vec4f {
  var r = vec4f(0.0);
  for (var e = 0u; e < 4u; e++) { if (4u * c + e < p.D) { r[e] = f32(q[base + 4u * c + e]); } }
  return r;
}
// Copied from attention_tiled.wgsl ld_k
fn ld_k(base: u32, c: u32) -> vec4f {
  var r = vec4f(0.0);
  for (var e = 0u; e < 4u; e++) { if (4u * c + e < p.D) { r[e] = f32(k[base + 4u * c + e]); } }
  return r;
}
// Copied from attention_tiled.wgsl ld_v
fn ld_v(base: u32, c: u32) -> vec4f {
  var r = vec4f(0.0);
  for (var e = 0u; e < 4u; e++) { if (4u * c + e < p.D) { r[e] = f32(v[base + 4u * c + e]); } }
  return r;
}
fn ld_do(base: u32, c: u32) -> vec4f {
  var r = vec4f(0.0);
  for (var e = 0u; e < 4u; e++) { if (4u * c + e < p.D) { r[e] = f32(dO[base + 4u * c + e]); } }
  return r;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let b = wg.y / p.heads;
  let h = wg.y % p.heads;
  let C = p.heads * p.D;
  let i = wg.x * WG + li;
  let ic = min(i, p.Nq - 1u);
  let qbase = (b * p.Nq + ic) * C + h * p.D;
  var qr: array<vec4f, DMAX4>;   // scale * q_i
  var gr: array<vec4f, DMAX4>;   // dO_i
  var a: array<vec4f, DMAX4>;    // sum_j e_ij dP_ij k_j
  var bk: array<vec4f, DMAX4>;   // sum_j e_ij k_j
  for (var c = 0u; c < D4; c++) {
    qr[c] = ld_q(qbase, c) * p.scale; gr[c] = ld_do(qbase, c); a[c] = vec4f(0.0); bk[c] = vec4f(0.0);
  }
  var m = NEG;
  var l = 0.0;
  var dsum = 0.0;  // sum_j e_ij dP_ij
  let kbase = b * p.Nk * C + h * p.D;
  for (var j0 = 0u; j0 < p.Nk; j0 += BK) {
    workgroupBarrier();  // the previous tile is consumed
    for (var e = li; e < KT; e += WG) {
      let row = kbase + min(j0 + e / D4, p.Nk - 1u) * C;
      kt[e] = ld_k(row, e % D4);
      vt[e] = ld_v(row, e % D4);
    }
    workgroupBarrier();
    // (Explicit zeroing: Dawn on lavapipe did not re-zero loop-local `var`s per iteration.)
    var s: array<f32, BKMAX>;
    var dp: array<f32, BKMAX>;
    var mx = m;
    for (var jj = 0u; jj < BK; jj++) {
      var t = vec4f(0.0);
      var u = vec4f(0.0);
      for (var c = 0u; c < D4; c++) { t = fma(qr[c], kt[jj * D4 + c], t); u = fma(gr[c], vt[jj * D4 + c], u); }
      s[jj] = select(NEG, dot(t, vec4f(1.0)), j0 + jj < p.Nk);
      dp[jj] = dot(u, vec4f(1.0));
      mx = max(mx, s[jj]);
    }
    let corr = exp(m - mx);
    m = mx;
    var sum = 0.0;
    var dsm = 0.0;
    for (var jj = 0u; jj < BK; jj++) { s[jj] = exp(s[jj] - mx); sum += s[jj]; dsm += s[jj] * dp[jj]; }
    l = l * corr + sum;
    dsum = dsum * corr + dsm;
    for (var c = 0u; c < D4; c++) {
      var x = a[c] * corr;
      var y = bk[c] * corr;
      for (var jj = 0u; jj < BK; jj++) {
        let kv = kt[jj * D4 + c];
        x = fma(vec4f(s[jj] * dp[jj]), kv, x);
        y = fma(vec4f(s[jj]), kv, y);
      }
      a[c] = x;
      bk[c] = y;
    }
  }
  if (i >= p.Nq) { return; }
  let inv = 1.0 / l;
  let delta = dsum * inv;
  for (var c = 0u; c < D4; c++) {
    let r = (a[c] - delta * bk[c]) * (inv * p.scale);
    for (var e = 0u; e < 4u; e++) { if (4u * c + e < p.D) { dq[qbase + 4u * c + e] = T(r[e]); } }
  }
  let srow = (wg.y * p.Nq + i) * 2u;
  stats[srow] = m + log(l);
  stats[srow + 1u] = delta;
}
