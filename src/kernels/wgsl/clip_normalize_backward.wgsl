// Input gradient of clip_normalize: dx = dy / std[c] / 2 (the mean does not matter).
//   dy [N, 3, H, W] -> dx [N, 3, H, W]
// Reference: src/kernels/reference/clip_normalize_backward.ts
override WG: u32 = 256u;

struct Params { n: u32, HW: u32, std0: f32, std1: f32, std2: f32, row_stride: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<T>;
@group(0) @binding(2) var<storage, read_write> dx: array<T>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * p.row_stride + wg.x) * WG + li;
  if (i >= p.n) { return; }
  let sd = array<f32, 3>(p.std0, p.std1, p.std2);
  dx[i] = T(f32(dy[i]) / sd[(i / p.HW) % 3u] / 2.0);
}
