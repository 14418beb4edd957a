// Input gradient of quick_gelu(x) = x * sigmoid(1.702 x) (CLIP's MLP activation):
//   dx = dy * (s + 1.702 x s (1 - s)),  s = sigmoid(1.702 x).   x, dy [n] -> dx [n]
// For large |x| exp overflows to inf and s to exactly 0 or 1: the derivative is then 0 or 1.
// Reference: src/kernels/reference/quick_gelu_backward.ts
override WG: u32 = 256u;

struct Params { n: u32, row_stride: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> dy: array<T>;
@group(0) @binding(3) var<storage, read_write> dx: array<T>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * p.row_stride + wg.x) * WG + li;
  if (i >= p.n) { return; }
  let v = f32(x[i]);
  let s = 1.0 / (1.0 + exp(-1.702 * v));
  dx[i] = T(f32(dy[i]) * (s + 1.702 * v * s * (1.0 - s)));
}
