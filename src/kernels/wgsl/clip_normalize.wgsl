// CLIP pixel normalisation of the style path (method.md, decision 3), in the golden's order:
//   x [N, 3, H, W] in [-1, 1] -> y = ((x + 1) / 2 - mean[c]) / std[c]   (division, as Normalize)
// Reference: src/kernels/reference/clip_normalize.ts
override WG: u32 = 256u;

struct Params { n: u32, HW: u32, mean0: f32, mean1: f32, mean2: f32, std0: f32, std1: f32, std2: f32, row_stride: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> y: array<T>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * p.row_stride + wg.x) * WG + li;
  if (i >= p.n) { return; }
  let c = (i / p.HW) % 3u;
  let mean = array<f32, 3>(p.mean0, p.mean1, p.mean2);
  let sd = array<f32, 3>(p.std0, p.std1, p.std2);
  y[i] = T(((f32(x[i]) + 1.0) / 2.0 - mean[c]) / sd[c]);
}
