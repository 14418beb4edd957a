// Attention backward, step 2: the input gradients of self-attention from dS (scale folded in,
// attention_backward_scores.wgsl) and P, one (b, token t, channel c) per invocation, h = c / D:
//   dq[t, c] = sum_j dS[h, t, j] k[j, c];  dk[t, c] = sum_j dS[h, j, t] q[j, c];  dv[t, c] = sum_j P[h, j, t] dO[j, c]
//   q, k, dO [B, N, heads*D], P, dS [B, heads, N, N] f32 -> dq, dk, dv [B, N, heads*D]
// dq, dk are gradients of the UNSCALED q_proj / k_proj outputs (transformers scales q itself).
// Reference: src/kernels/reference/attention_backward.ts (attentionBackwardRef)
override WG: u32 = 256u;

struct Params { n: u32, N: u32, heads: u32, D: u32, row_stride: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<T>;
@group(0) @binding(2) var<storage, read> k: array<T>;
@group(0) @binding(3) var<storage, read> dO: array<T>;
@group(0) @binding(4) var<storage, read> P: array<f32>;
@group(0) @binding(5) var<storage, read> dS: array<f32>;
@group(0) @binding(6) var<storage, read_write> dq: array<T>;
@group(0) @binding(7) var<storage, read_write> dk: array<T>;
@group(0) @binding(8) var<storage, read_write> dv: array<T>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let idx = (wg.y * p.row_stride + wg.x) * WG + li;
  if (idx >= p.n) { return; }
  let C = p.heads * p.D;
  let c = idx % C;
  let t = (idx / C) % p.N;
  let b = idx / (C * p.N);
  let hb = (b * p.heads + c / p.D) * p.N * p.N;
  var sq = 0.0;
  var sk = 0.0;
  var sv = 0.0;
  for (var j = 0u; j < p.N; j++) {
    let src = (b * p.N + j) * C + c;
    sq += dS[hb + t * p.N + j] * f32(k[src]);
    sk += dS[hb + j * p.N + t] * f32(q[src]);
    sv += P[hb + j * p.N + t] * f32(dO[src]);
  }
  dq[idx] = T(sq);
  dk[idx] = T(sk);
  dv[idx] = T(sv);
}
