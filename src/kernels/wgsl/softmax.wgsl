// Softmax over the last dim: x [rows, L] -> y [rows, L], y = exp(x - max) / sum exp(x - max).
// One workgroup per row. Each invocation keeps an online (max, sum) pair over its strided
// elements (the sum is rescaled whenever the max grows, so exp never overflows), the pairs meet in
// workgroup memory, and every invocation merges all WG pairs itself: one barrier per row, which
// matters on CPU adapters where a barrier is a coroutine switch. f32 math whatever T is.
// Reference: src/kernels/reference/softmax.ts
override WG: u32 = 64u;
const NEG = -3.0e38;  // below any finite f32 input; exp(NEG - m) == 0

struct Params { rows: u32, L: u32, row_stride: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> y: array<T>;
var<workgroup> part_m: array<f32, WG>;
var<workgroup> part_s: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  // 2-D grid: row_stride workgroups per grid row, so rows may exceed 65535.
  let row = wg.y * p.row_stride + wg.x;
  if (row >= p.rows) { return; }  // workgroup-uniform
  let base = row * p.L;
  var m = NEG;
  var s = 0.0;
  for (var i = li; i < p.L; i += WG) {
    let xi = f32(x[base + i]);
    let mn = max(m, xi);
    s = s * exp(m - mn) + exp(xi - mn);
    m = mn;
  }
  part_m[li] = m;
  part_s[li] = s;
  workgroupBarrier();
  var M = NEG;
  for (var t = 0u; t < WG; t++) { M = max(M, part_m[t]); }
  var S = 0.0;
  for (var t = 0u; t < WG; t++) { S += part_s[t] * exp(part_m[t] - M); }
  let inv = 1.0 / S;
  for (var i = li; i < p.L; i += WG) { y[base + i] = T(exp(f32(x[base + i]) - M) * inv); }
}
