// Flash attention with subgroup shuffles, for CPU adapters (lavapipe, SwiftShader).
// q [B, Nq, heads*D], k/v [B, Nk, heads*D] -> o [B, Nq, heads*D]; D = 4*D4, R*D4 <= QMAX.
// One invocation owns R query rows of one (batch, head); rows live in private arrays (the CPU's
// stack: contiguous vector loads, cheap). Keys go in tiles of SG: lane l loads the K and V rows of
// key j0 + l, and every lane takes each key's row from its owner by subgroupShuffle. On lavapipe
// every per-lane buffer load is a gather whatever the address (uniform loads in loops too), so
// loads per FMA set the speed: here 2*D4 gathers feed 2*SG*R*D4 vec4 FMAs per tile.
// Online softmax per tile: running max m and sum l, one rescale of the accumulator per tile.
// The d loops have a runtime bound (one pipeline serves every D, compile stays short); the r and
// jj loops have override bounds and unroll. f32 math whatever T is.
// Reference: src/kernels/reference/attention.ts
enable subgroups;
override WG: u32 = 64u;  // invocations per workgroup
override R: u32 = 4u;    // query rows per invocation, <= RMAX
override SG: u32 = 8u;   // keys per tile; must not exceed the adapter's subgroup size
const RMAX = 4u;
const QMAX = 128u;       // vec4 per invocation for q (and for acc): R * D4 <= QMAX
const SGMAX = 32u;
const NEG = -1.0e30;     // finite "minus infinity": exp(NEG - m) == 0, never inf - inf = NaN

// q/k/v rows start at *_off + row * *_rs (4-vectors): one fused QKV (or KV bank) buffer can be
// bound three times, each operand a column slice of it; o is dense [B, Nq, heads*D].
struct Params {
  Nq: u32, Nk: u32, heads: u32, D4: u32, scale: f32, causal: u32,
  q_off: u32, q_rs: u32, k_off: u32, k_rs: u32, v_off: u32, v_rs: u32,
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<T>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<T>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<T>>;
@group(0) @binding(4) var<storage, read_write> o: array<vec4<T>>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32,
        @builtin(subgroup_invocation_id) sl: u32, @builtin(subgroup_size) ss: u32) {
  let b = wg.y / p.heads;
  let h = wg.y % p.heads;
  let D4 = p.D4;
  let C4 = p.heads * D4;
  let q0 = wg.x * WG * R;
  var qr: array<vec4f, QMAX>;   // row r, chunk d at r * D4 + d
  var acc: array<vec4f, QMAX>;
  var m: array<f32, RMAX>;
  var l: array<f32, RMAX>;
  var last: array<u32, RMAX>;   // last key this row may see: i when causal, else Nk - 1
  for (var r = 0u; r < R; r++) {
    let i = min(q0 + li + r * WG, p.Nq - 1u);
    let base = p.q_off + (b * p.Nq + i) * p.q_rs + h * D4;
    for (var d = 0u; d < D4; d++) {
      qr[r * D4 + d] = vec4f(q[base + d]) * p.scale;
      acc[r * D4 + d] = vec4f(0.0);
    }
    m[r] = NEG;
    l[r] = 0.0;
    last[r] = select(p.Nk - 1u, min(i, p.Nk - 1u), p.causal != 0u);
  }
  // Workgroup-uniform key count (shuffles need uniform control flow).
  var nk = p.Nk;
  if (p.causal != 0u) { nk = min(p.Nk, q0 + WG * R); }
  let lane = sl % SG;  // a subgroup wider than SG holds copies of the tile
  for (var j0 = 0u; j0 < nk; j0 += SG) {
    let krow = b * p.Nk + min(j0 + lane, p.Nk - 1u);
    let kown = p.k_off + krow * p.k_rs + h * D4;
    let vown = p.v_off + krow * p.v_rs + h * D4;
    // Scores, d outer: each K chunk is gathered once, each q chunk read once per tile.
    // (Explicit zeroing: Dawn on lavapipe did not re-zero loop-local `var`s per iteration.)
    var s: array<array<f32, RMAX>, SGMAX>;
    for (var jj = 0u; jj < SG; jj++) { for (var r = 0u; r < R; r++) { s[jj][r] = 0.0; } }
    for (var d = 0u; d < D4; d++) {
      let kd = vec4f(k[kown + d]);
      for (var r = 0u; r < R; r++) {
        let qd = qr[r * D4 + d];
        for (var jj = 0u; jj < SG; jj++) { s[jj][r] += dot(qd, subgroupShuffle(kd, jj)); }
      }
    }
    // Online softmax: new running max, the old accumulator's rescale factor, probabilities.
    var corr: array<f32, RMAX>;
    for (var r = 0u; r < R; r++) {
      var mx = m[r];
      for (var jj = 0u; jj < SG; jj++) {
        s[jj][r] = select(NEG, s[jj][r], j0 + jj <= last[r]);
        mx = max(mx, s[jj][r]);
      }
      corr[r] = exp(m[r] - mx);
      m[r] = mx;
      var sum = 0.0;
      for (var jj = 0u; jj < SG; jj++) { s[jj][r] = exp(s[jj][r] - mx); sum += s[jj][r]; }
      l[r] = l[r] * corr[r] + sum;
    }
    // P V, jj innermost: one accumulator chunk stays in registers across the tile.
    for (var d = 0u; d < D4; d++) {
      let vd = vec4f(v[vown + d]);
      for (var r = 0u; r < R; r++) {
        var a = acc[r * D4 + d] * corr[r];
        for (var jj = 0u; jj < SG; jj++) { a = fma(vec4f(s[jj][r]), subgroupShuffle(vd, jj), a); }
        acc[r * D4 + d] = a;
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
    for (var d = 0u; d < D4; d++) { o[base + d] = vec4<T>(acc[r * D4 + d] * inv); }
  }
}
