// Conv weights for the stride-1 transposed convolution: swap the channel roles and rotate the
// taps by 180 degrees, so that dx = conv2d(dy, wf, pad K-1-pad) runs on the forward kernels
// (and their per-adapter measured variants):
//   w [O, C, KH, KW] -> wf [C, O, KH, KW], wf[c, o, i, j] = w[o, c, KH-1-i, KW-1-j]
// One invocation per value; bandwidth only (O*C*KH*KW values, tiny beside the conv itself).
// Reference: src/kernels/reference/conv2d_backward.ts (flipConvWeightsRef)
override WG: u32 = 256u;

struct Params { n: u32, O: u32, C: u32, KK: u32, row_stride: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<W>;
@group(0) @binding(2) var<storage, read_write> wf: array<W>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * p.row_stride + wg.x) * WG + li;  // index into wf
  if (i >= p.n) { return; }
  let tap = i % p.KK;
  let co = i / p.KK;  // c * O + o
  let o = co % p.O;
  let c = co / p.O;
  wf[i] = w[(o * p.C + c) * p.KK + (p.KK - 1u - tap)];
}
