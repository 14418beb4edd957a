// Softmax over the last dim: one workgroup per row, strided loads, two workgroup reductions
// (max, then sum of exp(x - max)), f32 math.  x [rows, L] -> y [rows, L].
// Reference: src/kernels/reference/softmax.ts
override WG: u32 = 64u;

struct Params { rows: u32, L: u32, row_stride: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> y: array<T>;

var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let row = wg.y * p.row_stride + wg.x;
  if (row >= p.rows) { return; }  // workgroup-uniform: every invocation of the row returns together
  let base = row * p.L;
  var mx = -3.0e38;
  for (var i = li; i < p.L; i += WG) { mx = max(mx, f32(x[base + i])); }
  red[li] = mx;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) { red[li] = max(red[li], red[li + s]); }
    workgroupBarrier();
  }
  let m = red[0];
  workgroupBarrier();
  var sum = 0.0;
  for (var i = li; i < p.L; i += WG) { sum += exp(f32(x[base + i]) - m); }
  red[li] = sum;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) { red[li] += red[li + s]; }
    workgroupBarrier();
  }
  let inv = 1.0 / red[0];
  for (var i = li; i < p.L; i += WG) { y[base + i] = T(exp(f32(x[base + i]) - m) * inv); }
}
