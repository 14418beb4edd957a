// Nearest-neighbour upsampling, exactly as PyTorch's F.interpolate(mode='nearest')
// (aten/src/ATen/native/UpSample.h nearest_idx): src = dst when sizes match, dst >> 1 for
// exactly 2x, else min(floor(dst * scale), in - 1) with scale = float(in) / out computed in f32
// on the CPU (WGSL multiplication is correctly rounded, division is not).
//   x: [N, C, H, W] -> y: [N, C, outH, outW], one invocation per output value.
// Reference: src/kernels/reference/upsample_nearest.ts
override WG: u32 = 256u;

struct Params { n: u32, H: u32, W: u32, outH: u32, outW: u32, scale_h: f32, scale_w: f32, row_stride: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> y: array<T>;

fn src_index(o: u32, n_in: u32, n_out: u32, scale: f32) -> u32 {
  if (n_out == n_in) { return o; }
  if (n_out == 2u * n_in) { return o >> 1u; }
  return min(u32(floor(f32(o) * scale)), n_in - 1u);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * p.row_stride + wg.x) * WG + li;
  if (i >= p.n) { return; }
  let ox = i % p.outW;
  let t = i / p.outW;
  let oy = t % p.outH;
  let nc = t / p.outH;
  let sy = src_index(oy, p.H, p.outH, p.scale_h);
  let sx = src_index(ox, p.W, p.outW, p.scale_w);
  y[i] = x[(nc * p.H + sy) * p.W + sx];
}
