// Flash-style attention backward, pass 2 of 2 (self-attention): dk and dv from the row
// statistics of pass 1 (attention_flash_dq.wgsl), recomputing P tile by tile:
//   P_ij = exp(scale q_i.k_j - lse_i),  dv_j = sum_i P_ij dO_i,
//   dk_j = scale * sum_i P_ij (dO_i.v_j - delta_i) q_i
// One invocation per key row (k, v and both accumulators in registers); BK query rows' q and dO
// plus their (lse, delta) are staged in workgroup memory per tile. Each output is written once by
// one invocation: no atomics, and the Nq x Nk matrix never exists. f32 math whatever T is.
//   q, dO [B, Nq, heads*D], k, v [B, Nk, heads*D], stats [B*heads, Nq, 2] -> dk, dv [B, Nk, heads*D]
// Reference: src/kernels/reference/attention_flash_backward.ts
override WG: u32 = 64u;   // invocations = key rows per workgroup
override BK: u32 = 16u;   // query rows per tile, <= BKMAX
override D4: u32 = 10u;   // ceil(D / 4)
override KT: u32 = 160u;  // BK * D4: vec4 per tile
const DMAX4 = 64u;
const BKMAX = 64u;

struct Params { Nq: u32, Nk: u32, heads: u32, D: u32, scale: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<T>;
@group(0) @binding(2) var<storage, read> k: array<T>;
@group(0) @binding(3) var<storage, read> v: array<T>;
@group(0) @binding(4) var<storage, read> dO: array<T>;
@group(0) @binding(5) var<storage, read> stats: array<f32>;
@group(0) @binding(6) var<storage, read_write> dk: array<T>;
@group(0) @binding(7) var<storage, read_write> dv: array<T>;
var<workgroup> qt: array<vec4f, KT>;
var<workgroup> gt: array<vec4f, KT>;
var<workgroup> lse_t: array<f32, BKMAX>;
var<workgroup> del_t: array<f32, BKMAX>;

// Loaders as attention_flash_dq.wgsl's
// Copied from attention_flash_dq.wgsl ld_q
fn ld_q(base: u32, c: u32) -> vec4f {
  var r = vec4f(0.0);
  for (var e = 0u; e < 4u; e++) { if (4u * c + e < p.D) { r[e] = f32(q[base + 4u * c + e]); } }
  return r;
}
// Copied from attention_flash_dq.wgsl ld_k
fn ld_k(base: u32, c: u32) -> vec4f {
  var r = vec4f(0.0);
  for (var e = 0u; e < 4u; e++) { if (4u * c + e < p.D) { r[e] = f32(k[base + 4u * c + e]); } }
  return r;
}
// Copied from attention_flash_dq.wgsl ld_v
fn ld_v(base: u32, c: u32) -> vec4f {
  var r = vec4f(0.0);
  for (var e = 0u; e < 4u; e++) { if (4u * c + e < p.D) { r[e] = f32(v[base + 4u * c + e]); } }
  return r;
}
// Copied from attention_flash_dq.wgsl ld_do
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
  let j = wg.x * WG + li;
  let jc = min(j, p.Nk - 1u);
  let kb = (b * p.Nk + jc) * C + h * p.D;
  var kr: array<vec4f, DMAX4>;   // scale * k_j
  var vr: array<vec4f, DMAX4>;
  var gk: array<vec4f, DMAX4>;   // sum_i dS_ij q_i (dS without the scale)
  var gv: array<vec4f, DMAX4>;   // sum_i P_ij dO_i
  for (var c = 0u; c < D4; c++) {
    kr[c] = ld_k(kb, c) * p.scale; vr[c] = ld_v(kb, c); gk[c] = vec4f(0.0); gv[c] = vec4f(0.0);
  }
  let qbase = b * p.Nq * C + h * p.D;
  for (var i0 = 0u; i0 < p.Nq; i0 += BK) {
    workgroupBarrier();  // the previous tile is consumed
    for (var e = li; e < KT; e += WG) {
      let row = qbase + min(i0 + e / D4, p.Nq - 1u) * C;
      qt[e] = ld_q(row, e % D4);
      gt[e] = ld_do(row, e % D4);
    }
    for (var e = li; e < BK; e += WG) {
      let srow = (wg.y * p.Nq + min(i0 + e, p.Nq - 1u)) * 2u;
      lse_t[e] = stats[srow];
      del_t[e] = stats[srow + 1u];
    }
    workgroupBarrier();
    for (var ii = 0u; ii < BK; ii++) {
      var t = vec4f(0.0);
      var u = vec4f(0.0);
      for (var c = 0u; c < D4; c++) { t = fma(qt[ii * D4 + c], kr[c], t); u = fma(gt[ii * D4 + c], vr[c], u); }
      // rows past Nq are clamped copies of the last one: weight them 0
      let P = select(0.0, exp(dot(t, vec4f(1.0)) - lse_t[ii]), i0 + ii < p.Nq);
      let dS = P * (dot(u, vec4f(1.0)) - del_t[ii]);
      for (var c = 0u; c < D4; c++) {
        gv[c] = fma(vec4f(P), gt[ii * D4 + c], gv[c]);
        gk[c] = fma(vec4f(dS), qt[ii * D4 + c], gk[c]);
      }
    }
  }
  if (j >= p.Nk) { return; }
  for (var c = 0u; c < D4; c++) {
    let rk = gk[c] * p.scale;
    let rv = gv[c];
    for (var e = 0u; e < 4u; e++) {
      if (4u * c + e < p.D) { dk[kb + 4u * c + e] = T(rk[e]); dv[kb + 4u * c + e] = T(rv[e]); }
    }
  }
}
