// Flash attention, register-blocked ("rows" variant, for CPU adapters such as lavapipe).
// q [B, Nq, heads*D], k/v [B, Nk, heads*D] -> o [B, Nq, heads*D]; D = 4*D4.
// One invocation owns R query rows of one (batch, head); all invocations of a workgroup walk the
// same keys in the same order, so every K/V load has a workgroup-uniform address (one scalar
// load + broadcast on lavapipe) and feeds R*4 FMAs per lane. Keys go in blocks of KB: scores for
// the block, one rescale of the accumulator per block (online softmax, running max m and sum l),
// then P*V. The Nq x Nk score matrix never exists. f32 math whatever T is.
// Reference: src/kernels/reference/attention.ts
override WG: u32 = 64u;  // invocations per workgroup
override R: u32 = 2u;    // query rows per invocation, <= RMAX
override D4: u32 = 10u;  // head dim / 4, <= DMAX4
override KB: u32 = 8u;   // keys per block, <= KBMAX
const RMAX = 4u;
const DMAX4 = 40u;
const KBMAX = 16u;
const NEG = -1.0e30;     // finite "minus infinity": exp(NEG - m) == 0 without inf - inf = NaN

struct Params { Nq: u32, Nk: u32, heads: u32, scale: f32, causal: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<T>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<T>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<T>>;
@group(0) @binding(4) var<storage, read_write> o: array<vec4<T>>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let b = wg.y / p.heads;
  let h = wg.y % p.heads;
  let C4 = p.heads * D4;
  let q0 = wg.x * WG * R;
  var qr: array<array<vec4f, DMAX4>, RMAX>;
  var acc: array<array<vec4f, DMAX4>, RMAX>;
  var m: array<f32, RMAX>;
  var l: array<f32, RMAX>;
  var last: array<u32, RMAX>;  // last key index this row may see (causal), else Nk - 1
  for (var r = 0u; r < R; r++) {
    let i = min(q0 + li + r * WG, p.Nq - 1u);
    let base = (b * p.Nq + i) * C4 + h * D4;
    for (var d = 0u; d < D4; d++) {
      qr[r][d] = vec4f(q[base + d]) * p.scale;
      acc[r][d] = vec4f(0.0);
    }
    m[r] = NEG;
    l[r] = 0.0;
    last[r] = select(p.Nk - 1u, min(i, p.Nk - 1u), p.causal != 0u);
  }
  // Workgroup-uniform key count, so the loop (and the K/V addresses) stay uniform.
  var nk = p.Nk;
  if (p.causal != 0u) { nk = min(p.Nk, q0 + WG * R); }
  let kbase = b * p.Nk * C4 + h * D4;
  for (var j0 = 0u; j0 < nk; j0 += KB) {
    var s: array<array<f32, RMAX>, KBMAX>;
    var bmax: array<f32, RMAX>;
    for (var r = 0u; r < R; r++) { bmax[r] = NEG; }
    for (var jj = 0u; jj < KB; jj++) {
      let j = j0 + jj;
      let kb = kbase + min(j, p.Nk - 1u) * C4;
      // Explicit zeroing: Dawn/Tint on lavapipe did not re-zero a loop-local `var t` per iteration.
      var t: array<vec4f, RMAX>;
      for (var r = 0u; r < R; r++) { t[r] = vec4f(0.0); }
      for (var d = 0u; d < D4; d++) {
        let kv = vec4f(k[kb + d]);
        for (var r = 0u; r < R; r++) { t[r] = fma(qr[r][d], kv, t[r]); }
      }
      for (var r = 0u; r < R; r++) {
        let sc = select(NEG, dot(t[r], vec4f(1.0)), j <= last[r]);
        s[jj][r] = sc;
        bmax[r] = max(bmax[r], sc);
      }
    }
    // Online softmax: rescale the accumulator once per block by exp(m_old - m_new).
    for (var r = 0u; r < R; r++) {
      let mn = max(m[r], bmax[r]);
      let corr = exp(m[r] - mn);
      m[r] = mn;
      l[r] *= corr;
      for (var d = 0u; d < D4; d++) { acc[r][d] *= corr; }
    }
    for (var jj = 0u; jj < KB; jj++) {
      let vb = kbase + min(j0 + jj, p.Nk - 1u) * C4;
      var pr: array<f32, RMAX>;
      for (var r = 0u; r < R; r++) {
        pr[r] = exp(s[jj][r] - m[r]);
        l[r] += pr[r];
      }
      for (var d = 0u; d < D4; d++) {
        let vv = vec4f(v[vb + d]);
        for (var r = 0u; r < R; r++) { acc[r][d] = fma(vec4f(pr[r]), vv, acc[r][d]); }
      }
    }
  }
  for (var r = 0u; r < R; r++) {
    let i = q0 + li + r * WG;
    if (i >= p.Nq) { continue; }
    let base = (b * p.Nq + i) * C4 + h * D4;
    let inv = 1.0 / l[r];
    for (var d = 0u; d < D4; d++) { o[base + d] = vec4<T>(acc[r][d] * inv); }
  }
}
