// Flash attention for any head size (odd D, or D > 160 where attention_rows' registers run out):
// one invocation per (query row, batch, head), keys walked one at a time with the online softmax
// (running max m and sum l, the accumulator rescaled when the max grows). The score matrix never
// exists; the accumulator lives in the output row itself (f32 math, T storage).
// q [B, Nq, heads*D], k/v [B, Nk, heads*D] -> o [B, Nq, heads*D].
// Reference: src/kernels/reference/attention.ts
override WG: u32 = 64u;

struct Params { Nq: u32, Nk: u32, heads: u32, D: u32, scale: f32, causal: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<T>;
@group(0) @binding(2) var<storage, read> k: array<T>;
@group(0) @binding(3) var<storage, read> v: array<T>;
@group(0) @binding(4) var<storage, read_write> o: array<T>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = wg.x * WG + li;
  if (i >= p.Nq) { return; }
  let b = wg.y / p.heads;
  let h = wg.y % p.heads;
  let C = p.heads * p.D;
  let qb = (b * p.Nq + i) * C + h * p.D;
  let kb0 = b * p.Nk * C + h * p.D;
  var last = p.Nk;
  if (p.causal != 0u) { last = min(i + 1u, p.Nk); }
  var m = -1.0e30;
  var l = 0.0;
  for (var d = 0u; d < p.D; d++) { o[qb + d] = T(0.0); }
  // o holds the unnormalised accumulator in T; for f16 storage keep it in f32 via two passes
  // would cost more: this kernel is the fallback, attention_rows is the fast path.
  for (var j = 0u; j < last; j++) {
    let kb = kb0 + j * C;
    var s = 0.0;
    for (var d = 0u; d < p.D; d++) { s += f32(q[qb + d]) * f32(k[kb + d]); }
    s *= p.scale;
    let mn = max(m, s);
    let corr = exp(m - mn);
    let pj = exp(s - mn);
    l = l * corr + pj;
    for (var d = 0u; d < p.D; d++) { o[qb + d] = T(f32(o[qb + d]) * corr + pj * f32(v[kb + d])); }
    m = mn;
  }
  let inv = 1.0 / l;
  for (var d = 0u; d < p.D; d++) { o[qb + d] = T(f32(o[qb + d]) * inv); }
}
