// Attention probabilities, materialised: P[b, h, i, :] = softmax_j(scale * q_i . k_j) per head.
//   q [B, Nq, heads*D], k [B, Nk, heads*D] (token-major, heads interleaved in channels)
//   -> P [B, heads, Nq, Nk] (always f32: the backward re-reads it)
// For short sequences (CLIP vision: 197 tokens) where the backward needs P anyway; the flash
// kernel (attention.ts) never materialises it. One workgroup per (b, h, i) row: scores into P,
// max, exp and sum, then normalise (division, as torch's softmax).
// Reference: src/kernels/reference/attention_probs.ts
override WG: u32 = 128u; // power of two: tree reductions

struct Params { rows: u32, Nq: u32, Nk: u32, heads: u32, D: u32, scale: f32, row_stride: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<T>;
@group(0) @binding(2) var<storage, read> k: array<T>;
@group(0) @binding(3) var<storage, read_write> P: array<f32>;

var<workgroup> red: array<f32, WG>;

fn wg_reduce(v: f32, li: u32, is_max: bool) -> f32 {
  red[li] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (li < s) { red[li] = select(red[li] + red[li + s], max(red[li], red[li + s]), is_max); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let row = wg.y * p.row_stride + wg.x; // (b * heads + h) * Nq + i
  if (row >= p.rows) { return; }        // uniform per workgroup
  let i = row % p.Nq;
  let h = (row / p.Nq) % p.heads;
  let b = row / (p.Nq * p.heads);
  let C = p.heads * p.D;
  let qo = (b * p.Nq + i) * C + h * p.D;
  let out = row * p.Nk;

  var mx = -3.402823e38;
  for (var j = li; j < p.Nk; j += WG) {
    let ko = (b * p.Nk + j) * C + h * p.D;
    var dot = 0.0;
    for (var d = 0u; d < p.D; d++) { dot += f32(q[qo + d]) * f32(k[ko + d]); }
    let s = p.scale * dot;
    P[out + j] = s;
    mx = max(mx, s);
  }
  mx = wg_reduce(mx, li, true);
  var sum = 0.0;
  for (var j = li; j < p.Nk; j += WG) {
    let e = exp(P[out + j] - mx);
    P[out + j] = e;
    sum += e;
  }
  sum = wg_reduce(sum, li, false);
  for (var j = li; j < p.Nk; j += WG) { P[out + j] = P[out + j] / sum; }
}
