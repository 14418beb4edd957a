// y[i] = value for every element (zeros for padding and accumulators, constant tensors).
//   y: [n] (T)
// Reference: src/kernels/reference/tensor_ops.ts
override WG: u32 = 256u;

struct Params { n: u32, value: f32, row_stride: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> y: array<T>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * p.row_stride + wg.x) * WG + li;
  if (i >= p.n) { return; }
  y[i] = T(p.value);
}
