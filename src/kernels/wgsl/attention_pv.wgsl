// Attention output from materialised probabilities (attention_probs.wgsl):
//   P [B, heads, Nq, Nk] f32, v [B, Nk, heads*D] -> o [B, Nq, heads*D], o_i = sum_j P_ij v_j per head.
// One output element per invocation; neighbouring invocations share a head, so P reads broadcast.
// Reference: src/kernels/reference/attention_probs.ts (attentionPvRef)
override WG: u32 = 256u;

struct Params { n: u32, Nq: u32, Nk: u32, heads: u32, D: u32, row_stride: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> P: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<T>;
@group(0) @binding(3) var<storage, read_write> o: array<T>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let idx = (wg.y * p.row_stride + wg.x) * WG + li;
  if (idx >= p.n) { return; }
  let C = p.heads * p.D;
  let c = idx % C;
  let i = (idx / C) % p.Nq;
  let b = idx / (C * p.Nq);
  let prow = ((b * p.heads + c / p.D) * p.Nq + i) * p.Nk;
  var acc = 0.0;
  for (var j = 0u; j < p.Nk; j++) { acc += P[prow + j] * f32(v[(b * p.Nk + j) * C + c]); }
  o[idx] = T(acc);
}
