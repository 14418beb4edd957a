// Input gradient of bilinear_resize (its transpose): dy [planes, Ho, Wo] -> dx [planes, H, W].
// A gather, not a scatter (no atomics, deterministic): input pixel (iy, ix) sums the output
// gradients of the output rows/columns that tap it. Those form one contiguous range per axis
// (source coordinates grow with the output index), stored after the forward taps:
//   taps[4 * (Ho + Wo) + 2 * iy + 0..1]       = first, last output row tapping input row iy
//   taps[4 * (Ho + Wo) + 2 * (H + ix) + 0..1] = first, last output column tapping input column ix
// (last < first when none). A tap's weight is l0 where i0 == i, plus l1 where i1 == i (both at the
// clamped border, where i0 == i1).
// Reference: src/kernels/reference/bilinear_resize_backward.ts
override WG: u32 = 256u;

struct Params { planes: u32, H: u32, W: u32, Ho: u32, Wo: u32, row_stride: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<T>;
@group(0) @binding(2) var<storage, read> taps: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<T>;

// weight of input index `i` in the forward tap entry at `t` (i0, i1, l0, l1)
fn tap_weight(t: u32, i: u32) -> f32 {
  return select(0.0, taps[t + 2u], u32(taps[t]) == i) + select(0.0, taps[t + 3u], u32(taps[t + 1u]) == i);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * p.row_stride + wg.x) * WG + li;
  if (i >= p.planes * p.H * p.W) { return; }
  let ix = i % p.W;
  let iy = (i / p.W) % p.H;
  let base = (i / (p.W * p.H)) * p.Ho * p.Wo;
  let inv = 4u * (p.Ho + p.Wo);
  let y_lo = i32(taps[inv + 2u * iy]);
  let y_hi = i32(taps[inv + 2u * iy + 1u]);
  let x_lo = i32(taps[inv + 2u * (p.H + ix)]);
  let x_hi = i32(taps[inv + 2u * (p.H + ix) + 1u]);
  var acc = 0.0;
  for (var oy = y_lo; oy <= y_hi; oy++) {
    let wy = tap_weight(4u * u32(oy), iy);
    var row = 0.0;
    for (var ox = x_lo; ox <= x_hi; ox++) {
      row += tap_weight(4u * (p.Ho + u32(ox)), ix) * f32(dy[base + u32(oy) * p.Wo + u32(ox)]);
    }
    acc += wy * row;
  }
  dx[i] = T(acc);
}
