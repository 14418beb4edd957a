// Input gradient of frobenius_loss: dG[n] = dl[n] * (G[n] - G_ref) / L[n], and exactly 0 when
// L[n] == 0 (the guard torch.linalg.norm's backward applies to 0/0; golden README edge case).
//   g [N, M], g_ref [1 or N, M], l [N] f32, dl [N] f32 -> dg [N, M]
// Reference: src/kernels/reference/frobenius_loss_backward.ts
override WG: u32 = 256u;

struct Params { n: u32, M: u32, ref_stride: u32, row_stride: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> g: array<T>;
@group(0) @binding(2) var<storage, read> g_ref: array<T>;
@group(0) @binding(3) var<storage, read> l: array<f32>;
@group(0) @binding(4) var<storage, read> dl: array<f32>;
@group(0) @binding(5) var<storage, read_write> dg: array<T>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * p.row_stride + wg.x) * WG + li;
  if (i >= p.n) { return; }
  let s = i / p.M;
  let L = l[s];
  var v = 0.0;
  if (L > 0.0) { v = dl[s] * (f32(g[i]) - f32(g_ref[s * p.ref_stride + i % p.M])) / L; }
  dg[i] = T(v);
}
