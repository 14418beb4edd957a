// Attention backward, step 1 (softmax backward), one workgroup per (b, h, i) row:
//   dP_ij = dO_i . v_j;   dS_ij = scale * P_ij * (dP_ij - sum_j' P_ij' dP_ij')
//   P [B, heads, N, N] f32, v, dO [B, N, heads*D] -> dS [B, heads, N, N] f32 (scale folded in)
// dP is parked in dS (each invocation rewrites only its own entries), the row sum reduced in
// workgroup memory. attention_backward.wgsl then forms dq, dk, dv from dS and P.
// Reference: src/kernels/reference/attention_backward.ts (attentionScoresBackwardRef)
override WG: u32 = 128u; // power of two

struct Params { rows: u32, N: u32, heads: u32, D: u32, scale: f32, row_stride: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> P: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<T>;
@group(0) @binding(3) var<storage, read> dO: array<T>;
@group(0) @binding(4) var<storage, read_write> dS: array<f32>;

var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let row = wg.y * p.row_stride + wg.x; // (b * heads + h) * N + i
  if (row >= p.rows) { return; }        // uniform per workgroup
  let i = row % p.N;
  let h = (row / p.N) % p.heads;
  let b = row / (p.N * p.heads);
  let C = p.heads * p.D;
  let oo = (b * p.N + i) * C + h * p.D;
  let base = row * p.N;

  var r = 0.0;
  for (var j = li; j < p.N; j += WG) {
    let vo = (b * p.N + j) * C + h * p.D;
    var dot = 0.0;
    for (var d = 0u; d < p.D; d++) { dot += f32(dO[oo + d]) * f32(v[vo + d]); }
    dS[base + j] = dot;
    r += P[base + j] * dot;
  }
  red[li] = r;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (li < s) { red[li] = red[li] + red[li + s]; }
    workgroupBarrier();
  }
  let rs = red[0];
  for (var j = li; j < p.N; j += WG) { dS[base + j] = p.scale * P[base + j] * (dS[base + j] - rs); }
}
