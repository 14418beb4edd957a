// Style loss L[n] = ||G_ref - G[n]||_F (not squared, not normalised), one workgroup per sample:
//   g [N, M] (M = D * D), g_ref [1, M] shared (ref_stride 0) or [N, M] (ref_stride M) -> l [N] (f32)
// Strided f32 partial sums, then a tree reduction; sqrt at the end.
// Reference: src/kernels/reference/frobenius_loss.ts
override WG: u32 = 256u; // power of two

struct Params { M: u32, ref_stride: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> g: array<T>;
@group(0) @binding(2) var<storage, read> g_ref: array<T>;
@group(0) @binding(3) var<storage, read_write> l: array<f32>;

var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let n = wg.x;
  var s = 0.0;
  for (var i = li; i < p.M; i += WG) {
    let d = f32(g_ref[n * p.ref_stride + i]) - f32(g[n * p.M + i]);
    s += d * d;
  }
  red[li] = s;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k = k / 2u) {
    if (li < k) { red[li] = red[li] + red[li + k]; }
    workgroupBarrier();
  }
  if (li == 0u) { l[n] = sqrt(red[0]); }
}
