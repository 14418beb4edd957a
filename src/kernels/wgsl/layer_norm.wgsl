// LayerNorm over the last dimension, as torch.nn.LayerNorm (biased variance), one workgroup per row.
//   x: [rows, C] -> y: [rows, C]; gamma, beta: [C]. C is 320..1280 in the UNet, 32..768 in CLIP.
// Two-pass f32 statistics (mean, then squared deviations); the row is re-read from cache.
// Reference: src/kernels/reference/layer_norm.ts
override WG: u32 = 128u; // power of two: tree reduction

struct Params { rows: u32, C: u32, eps: f32, row_stride: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> gamma: array<W>;
@group(0) @binding(3) var<storage, read> beta: array<W>;
@group(0) @binding(4) var<storage, read_write> y: array<T>;

var<workgroup> red: array<f32, WG>;

// Copied from group_norm.wgsl wg_sum
fn wg_sum(v: f32, li: u32) -> f32 {
  red[li] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (li < s) { red[li] = red[li] + red[li + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier(); // red is reused by the next call
  return r;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  // 2-D grid (row_stride workgroups per grid row) so rows may exceed 65535
  let row = wg.y * p.row_stride + wg.x;
  if (row >= p.rows) { return; } // uniform per workgroup: barriers below stay uniform
  let base = row * p.C;

  var s = 0.0;
  for (var i = li; i < p.C; i += WG) { s += f32(x[base + i]); }
  let mean = wg_sum(s, li) / f32(p.C);
  var q = 0.0;
  for (var i = li; i < p.C; i += WG) {
    let d = f32(x[base + i]) - mean;
    q += d * d;
  }
  let rstd = inverseSqrt(wg_sum(q, li) / f32(p.C) + p.eps);
  for (var i = li; i < p.C; i += WG) {
    y[base + i] = T((f32(x[base + i]) - mean) * rstd * f32(gamma[i]) + f32(beta[i]));
  }
}
