// Channel concatenation (torch.cat(dim=1)), a first:
//   a: [N, Ca, HW], b: [N, Cb, HW] -> y: [N, Ca+Cb, HW]; one invocation per output value.
// With f16 storage a per-sample copy may start at a 2-byte offset, which copyBufferToBuffer
// cannot do, hence a kernel.
// Reference: src/kernels/reference/concat.ts
override WG: u32 = 256u;

struct Params { n: u32, sa: u32, sb: u32, row_stride: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<T>;
@group(0) @binding(2) var<storage, read> b: array<T>;
@group(0) @binding(3) var<storage, read_write> y: array<T>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * p.row_stride + wg.x) * WG + li;
  if (i >= p.n) { return; }
  // sa = Ca*HW and sb = Cb*HW values per sample
  let s = p.sa + p.sb;
  let n = i / s;
  let r = i - n * s;
  if (r < p.sa) { y[i] = a[n * p.sa + r]; } else { y[i] = b[n * p.sb + r - p.sa]; }
}
