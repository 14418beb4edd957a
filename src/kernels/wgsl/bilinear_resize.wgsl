// Bilinear resize, align_corners=False, no antialiasing (torch 1.13 upsample_bilinear2d):
//   x [planes, H, W] -> y [planes, Ho, Wo], planes = N * C.
// The per-axis taps are computed once on the CPU, exactly as torch does (f32 scale, double
// source coordinate, f32 weights), and read from `taps` (f32; indices are exact below 2^24):
//   taps[4 * oy + 0..3]            = (i0, i1, l0, l1) of output row oy
//   taps[4 * (Ho + ox) + 0..3]     = (i0, i1, l0, l1) of output column ox
// (the backward kernel reads inverse ranges stored after these; see bilinear_resize.ts).
// Evaluation order as torch: l0y * (l0x * a + l1x * b) + l1y * (l0x * c + l1x * d).
// Reference: src/kernels/reference/bilinear_resize.ts
override WG: u32 = 256u;

struct Params { planes: u32, H: u32, W: u32, Ho: u32, Wo: u32, row_stride: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> taps: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<T>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * p.row_stride + wg.x) * WG + li;
  if (i >= p.planes * p.Ho * p.Wo) { return; }
  let ox = i % p.Wo;
  let oy = (i / p.Wo) % p.Ho;
  let base = (i / (p.Wo * p.Ho)) * p.H * p.W;
  let ty = 4u * oy;
  let tx = 4u * (p.Ho + ox);
  let r0 = base + u32(taps[ty]) * p.W;
  let r1 = base + u32(taps[ty + 1u]) * p.W;
  let x0 = u32(taps[tx]);
  let x1 = u32(taps[tx + 1u]);
  let lx0 = taps[tx + 2u];
  let lx1 = taps[tx + 3u];
  let top = lx0 * f32(x[r0 + x0]) + lx1 * f32(x[r0 + x1]);
  let bottom = lx0 * f32(x[r1 + x0]) + lx1 * f32(x[r1 + x1]);
  y[i] = T(taps[ty + 2u] * top + taps[ty + 3u] * bottom);
}
