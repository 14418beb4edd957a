// Flash attention backward pass 1 (attention_flash_dq.wgsl's algorithm) with subgroup shuffles,
// for CPU adapters, in attention_sg.wgsl's layout: one invocation owns R query rows (q, dO and
// the two sums in private arrays); keys go in tiles of SG, lane l loading the K and V rows of key
// j0 + l and every lane taking them from their owner by subgroupShuffle (on lavapipe loads per
// FMA set the speed, and workgroup memory loads are gathers too).
//   q, dO [B, Nq, heads*D], k, v [B, Nk, heads*D] -> dq [B, Nq, heads*D], stats [B*heads, Nq, 2]
//   dq_i = scale * (sum_j e_ij dP_ij k_j - delta_i sum_j e_ij k_j) / l_i, delta_i = sum_j e_ij dP_ij / l_i
// D = 4*D4, R*D4 <= QMAX; SG must not exceed the subgroup size (checked: NaN otherwise).
// Reference: src/kernels/reference/attention_flash_backward.ts
enable subgroups;
override WG: u32 = 64u;  // invocations per workgroup
override R: u32 = 4u;    // query rows per invocation, <= RMAX
override SG: u32 = 8u;   // keys per tile
const RMAX = 4u;
const QMAX = 128u;
const SGMAX = 32u;
const NEG = -1.0e30;

struct Params { Nq: u32, Nk: u32, heads: u32, D4: u32, scale: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<T>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<T>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<T>>;
@group(0) @binding(4) var<storage, read> dO: array<vec4<T>>;
@group(0) @binding(5) var<storage, read_write> dq: array<vec4<T>>;
@group(0) @binding(6) var<storage, read_write> stats: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32,
        @builtin(subgroup_invocation_id) sl: u32, @builtin(subgroup_size) ss: u32) {
  let b = wg.y / p.heads;
  let h = wg.y % p.heads;
  let D4 = p.D4;
  let C4 = p.heads * D4;
  let q0 = wg.x * WG * R;
  var qr: array<vec4f, QMAX>;   // row r, chunk d at r * D4 + d: scale * q
  var gr: array<vec4f, QMAX>;   // dO
  var a: array<vec4f, QMAX>;    // sum_j e_ij dP_ij k_j
  var bk: array<vec4f, QMAX>;   // sum_j e_ij k_j
  var m: array<f32, RMAX>;
  var l: array<f32, RMAX>;
  var ds: array<f32, RMAX>;     // sum_j e_ij dP_ij
  for (var r = 0u; r < R; r++) {
    let base = (b * p.Nq + min(q0 + li + r * WG, p.Nq - 1u)) * C4 + h * D4;
    for (var d = 0u; d < D4; d++) {
      qr[r * D4 + d] = vec4f(q[base + d]) * p.scale;
      gr[r * D4 + d] = vec4f(dO[base + d]);
      a[r * D4 + d] = vec4f(0.0);
      bk[r * D4 + d] = vec4f(0.0);
    }
    m[r] = NEG;
    l[r] = 0.0;
    ds[r] = 0.0;
  }
  let kbase = b * p.Nk * C4 + h * D4;
  let lane = sl % SG;  // a subgroup wider than SG holds copies of the tile
  for (var j0 = 0u; j0 < p.Nk; j0 += SG) {
    let own = kbase + min(j0 + lane, p.Nk - 1u) * C4;
    // scores and dP, d outer: each K and V chunk gathered once per tile
    // (explicit zeroing: Dawn on lavapipe did not re-zero loop-local `var`s per iteration)
    var s: array<array<f32, RMAX>, SGMAX>;
    var dp: array<array<f32, RMAX>, SGMAX>;
    for (var jj = 0u; jj < SG; jj++) { for (var r = 0u; r < R; r++) { s[jj][r] = 0.0; dp[jj][r] = 0.0; } }
    for (var d = 0u; d < D4; d++) {
      let kd = vec4f(k[own + d]);
      let vd = vec4f(v[own + d]);
      for (var r = 0u; r < R; r++) {
        let qd = qr[r * D4 + d];
        let gd = gr[r * D4 + d];
        for (var jj = 0u; jj < SG; jj++) {
          s[jj][r] += dot(qd, subgroupShuffle(kd, jj));
          dp[jj][r] += dot(gd, subgroupShuffle(vd, jj));
        }
      }
    }
    // online softmax: s becomes e = exp(s - m_new); l and ds rescaled by corr
    var corr: array<f32, RMAX>;
    for (var r = 0u; r < R; r++) {
      var mx = m[r];
      for (var jj = 0u; jj < SG; jj++) {
        s[jj][r] = select(NEG, s[jj][r], j0 + jj < p.Nk);
        mx = max(mx, s[jj][r]);
      }
      corr[r] = exp(m[r] - mx);
      m[r] = mx;
      var sum = 0.0;
      var dsm = 0.0;
      for (var jj = 0u; jj < SG; jj++) { s[jj][r] = exp(s[jj][r] - mx); sum += s[jj][r]; dsm += s[jj][r] * dp[jj][r]; }
      l[r] = l[r] * corr[r] + sum;
      ds[r] = ds[r] * corr[r] + dsm;
    }
    for (var d = 0u; d < D4; d++) {
      let kd = vec4f(k[own + d]);
      for (var r = 0u; r < R; r++) {
        var x = a[r * D4 + d] * corr[r];
        var y = bk[r * D4 + d] * corr[r];
        for (var jj = 0u; jj < SG; jj++) {
          let kj = subgroupShuffle(kd, jj);
          x = fma(vec4f(s[jj][r] * dp[jj][r]), kj, x);
          y = fma(vec4f(s[jj][r]), kj, y);
        }
        a[r * D4 + d] = x;
        bk[r * D4 + d] = y;
      }
    }
  }
  // A subgroup narrower than SG shuffled from missing lanes: fail loudly with NaN, never silently.
  let bad = select(1.0, bitcast<f32>(0x7fc00000u + min(ss, 0u)), ss < SG);
  for (var r = 0u; r < R; r++) {
    let i = q0 + li + r * WG;
    if (i >= p.Nq) { continue; }
    let base = (b * p.Nq + i) * C4 + h * D4;
    let inv = bad / l[r];
    let delta = ds[r] * inv;
    for (var d = 0u; d < D4; d++) { dq[base + d] = vec4<T>((a[r * D4 + d] - delta * bk[r * D4 + d]) * (inv * p.scale)); }
    let srow = (wg.y * p.Nq + i) * 2u;
    stats[srow] = m[r] + log(l[r]);
    stats[srow + 1u] = delta;
  }
}
