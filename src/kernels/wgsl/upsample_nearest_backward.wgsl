// Input gradient of exact 2x nearest upsampling (upsample_nearest.wgsl with out = 2 * in, where
// source index = dst >> 1): each input value was copied to a 2x2 block, so its gradient is the
// block's sum. A gather, one invocation per dx value: no atomics.
//   dy [N, C, 2H, 2W] -> dx [N, C, H, W]
// Reference: src/kernels/reference/upsample_nearest_backward.ts
override WG: u32 = 256u;

struct Params { n: u32, H: u32, W: u32, row_stride: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<T>;
@group(0) @binding(2) var<storage, read_write> dx: array<T>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * p.row_stride + wg.x) * WG + li;
  if (i >= p.n) { return; }
  let x = i % p.W;
  let t = i / p.W;
  let y = t % p.H;
  let nc = t / p.H;
  let W2 = 2u * p.W;
  let top = (nc * 2u * p.H + 2u * y) * W2 + 2u * x;
  // f32 sum whatever T is
  let s = f32(dy[top]) + f32(dy[top + 1u]) + f32(dy[top + W2]) + f32(dy[top + W2 + 1u]);
  dx[i] = T(s);
}
