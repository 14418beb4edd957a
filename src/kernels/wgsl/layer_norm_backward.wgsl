// Input gradient of LayerNorm over the last dim (layer_norm.wgsl), one workgroup per row:
//   x, dy [rows, C], gamma [C] -> dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) (+ acc)
// with g = dy * gamma, xhat = (x - mean) * rstd; the statistics are recomputed from x exactly as
// the forward does (two-pass f32). `acc` [rows, C] (when has_acc) is the gradient reaching x along
// the residual branch, added here so a transformer block's backward needs no extra add.
// Reference: src/kernels/reference/layer_norm_backward.ts
override WG: u32 = 128u; // power of two: tree reduction

struct Params { rows: u32, C: u32, eps: f32, has_acc: u32, row_stride: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> dy: array<T>;
@group(0) @binding(3) var<storage, read> gamma: array<W>;
@group(0) @binding(4) var<storage, read> acc: array<T>;
@group(0) @binding(5) var<storage, read_write> dx: array<T>;

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
  let row = wg.y * p.row_stride + wg.x;
  if (row >= p.rows) { return; } // uniform per workgroup
  let base = row * p.C;
  let n = f32(p.C);

  var s = 0.0;
  for (var i = li; i < p.C; i += WG) { s += f32(x[base + i]); }
  let mean = wg_sum(s, li) / n;
  var q = 0.0;
  for (var i = li; i < p.C; i += WG) {
    let d = f32(x[base + i]) - mean;
    q += d * d;
  }
  let rstd = inverseSqrt(wg_sum(q, li) / n + p.eps);

  var sg = 0.0;
  var sgx = 0.0;
  for (var i = li; i < p.C; i += WG) {
    let g = f32(dy[base + i]) * f32(gamma[i]);
    sg += g;
    sgx += g * (f32(x[base + i]) - mean) * rstd;
  }
  let mg = wg_sum(sg, li) / n;
  let mgx = wg_sum(sgx, li) / n;
  for (var i = li; i < p.C; i += WG) {
    let xhat = (f32(x[base + i]) - mean) * rstd;
    var v = rstd * (f32(dy[base + i]) * f32(gamma[i]) - mg - xhat * mgx);
    if (p.has_acc != 0u) { v += f32(acc[base + i]); }
    dx[base + i] = T(v);
  }
}
