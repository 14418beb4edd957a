// y[dst_offset + i] = x[src_offset + i] for i < n, in elements: the fallback of tensor_ops.ts
// when a dim-0 slice or stack is not 4-byte aligned (f16 with odd row sizes), which
// copyBufferToBuffer cannot do.
//   x: [..] (T) -> y: [..] (T)
// Reference: src/kernels/reference/tensor_ops.ts
override WG: u32 = 256u;

struct Params { n: u32, src_offset: u32, dst_offset: u32, row_stride: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> y: array<T>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * p.row_stride + wg.x) * WG + li;
  if (i >= p.n) { return; }
  y[p.dst_offset + i] = x[p.src_offset + i];
}
