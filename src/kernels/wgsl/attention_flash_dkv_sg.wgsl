// Flash attention backward pass 2 (attention_flash_dkv.wgsl's algorithm) with subgroup
// shuffles, for CPU adapters: one invocation owns R key rows (k, v, dk, dv in private arrays);
// queries go in tiles of SG, lane l loading the q and dO rows and (lse, delta) of query i0 + l,
// every lane taking them from their owner by subgroupShuffle.
//   q, dO [B, Nq, heads*D], k, v [B, Nk, heads*D], stats [B*heads, Nq, 2] -> dk, dv [B, Nk, heads*D]
//   P_ij = exp(scale q_i.k_j - lse_i), dv_j = sum_i P_ij dO_i, dk_j = scale sum_i P_ij (dO_i.v_j - delta_i) q_i
// D = 4*D4, R*D4 <= QMAX; SG must not exceed the subgroup size (checked: NaN otherwise).
// Reference: src/kernels/reference/attention_flash_backward.ts
enable subgroups;
override WG: u32 = 64u;  // invocations per workgroup
override R: u32 = 4u;    // key rows per invocation, <= RMAX
override SG: u32 = 8u;   // queries per tile
const RMAX = 4u;
const QMAX = 128u;
const SGMAX = 32u;

struct Params { Nq: u32, Nk: u32, heads: u32, D4: u32, scale: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<T>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<T>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<T>>;
@group(0) @binding(4) var<storage, read> dO: array<vec4<T>>;
@group(0) @binding(5) var<storage, read> stats: array<f32>;
@group(0) @binding(6) var<storage, read_write> dk: array<vec4<T>>;
@group(0) @binding(7) var<storage, read_write> dv: array<vec4<T>>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32,
        @builtin(subgroup_invocation_id) sl: u32, @builtin(subgroup_size) ss: u32) {
  let b = wg.y / p.heads;
  let h = wg.y % p.heads;
  let D4 = p.D4;
  let C4 = p.heads * D4;
  let k0 = wg.x * WG * R;
  var kr: array<vec4f, QMAX>;   // row r, chunk d at r * D4 + d: scale * k
  var vr: array<vec4f, QMAX>;
  var gk: array<vec4f, QMAX>;   // sum_i dS_ij q_i (dS without the scale)
  var gv: array<vec4f, QMAX>;   // sum_i P_ij dO_i
  for (var r = 0u; r < R; r++) {
    let base = (b * p.Nk + min(k0 + li + r * WG, p.Nk - 1u)) * C4 + h * D4;
    for (var d = 0u; d < D4; d++) {
      kr[r * D4 + d] = vec4f(k[base + d]) * p.scale;
      vr[r * D4 + d] = vec4f(v[base + d]);
      gk[r * D4 + d] = vec4f(0.0);
      gv[r * D4 + d] = vec4f(0.0);
    }
  }
  let qbase = b * p.Nq * C4 + h * D4;
  let lane = sl % SG;
  for (var i0 = 0u; i0 < p.Nq; i0 += SG) {
    let mine = min(i0 + lane, p.Nq - 1u);
    let own = qbase + mine * C4;
    let lse = stats[(wg.y * p.Nq + mine) * 2u];
    let del = stats[(wg.y * p.Nq + mine) * 2u + 1u];
    // (explicit zeroing: Dawn on lavapipe did not re-zero loop-local `var`s per iteration)
    var s: array<array<f32, RMAX>, SGMAX>;
    var dp: array<array<f32, RMAX>, SGMAX>;
    for (var ii = 0u; ii < SG; ii++) { for (var r = 0u; r < R; r++) { s[ii][r] = 0.0; dp[ii][r] = 0.0; } }
    for (var d = 0u; d < D4; d++) {
      let qd = vec4f(q[own + d]);
      let gd = vec4f(dO[own + d]);
      for (var r = 0u; r < R; r++) {
        let kd = kr[r * D4 + d];
        let vd = vr[r * D4 + d];
        for (var ii = 0u; ii < SG; ii++) {
          s[ii][r] += dot(kd, subgroupShuffle(qd, ii));
          dp[ii][r] += dot(vd, subgroupShuffle(gd, ii));
        }
      }
    }
    // s becomes P, dp becomes dS / scale; rows past Nq (clamped copies) weigh 0
    for (var ii = 0u; ii < SG; ii++) {
      let lse_i = subgroupShuffle(lse, ii);
      let del_i = subgroupShuffle(del, ii);
      for (var r = 0u; r < R; r++) {
        let P = select(0.0, exp(s[ii][r] - lse_i), i0 + ii < p.Nq);
        s[ii][r] = P;
        dp[ii][r] = P * (dp[ii][r] - del_i);
      }
    }
    for (var d = 0u; d < D4; d++) {
      let qd = vec4f(q[own + d]);
      let gd = vec4f(dO[own + d]);
      for (var r = 0u; r < R; r++) {
        var x = gk[r * D4 + d];
        var y = gv[r * D4 + d];
        for (var ii = 0u; ii < SG; ii++) {
          x = fma(vec4f(dp[ii][r]), subgroupShuffle(qd, ii), x);
          y = fma(vec4f(s[ii][r]), subgroupShuffle(gd, ii), y);
        }
        gk[r * D4 + d] = x;
        gv[r * D4 + d] = y;
      }
    }
  }
  // A subgroup narrower than SG shuffled from missing lanes: fail loudly with NaN, never silently.
  let bad = select(1.0, bitcast<f32>(0x7fc00000u + min(ss, 0u)), ss < SG);
  for (var r = 0u; r < R; r++) {
    let j = k0 + li + r * WG;
    if (j >= p.Nk) { continue; }
    let base = (b * p.Nk + j) * C4 + h * D4;
    for (var d = 0u; d < D4; d++) {
      dk[base + d] = vec4<T>(gk[r * D4 + d] * (p.scale * bad));
      dv[base + d] = vec4<T>(gv[r * D4 + d] * bad);
    }
  }
}
