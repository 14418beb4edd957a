// Conv2d for CPU adapters (stride 1 or 2): 8 consecutive output pixels of one row share their
// input row segments, read as aligned 4-vectors. Same result as conv2d_subgroup.wgsl.
//   y[n, o, ho, wo] = sum_{c, i, j} x[n, c, ho*S - pad_t + i, wo*S - PL + j] * w[o, c, i, j] (+ bias, residual, y)
// Why: in the implicit GEMM the pixel operand is gathered element by element (NCHW), and on
// lavapipe every gathered element costs a per-lane loop; here a pixel row of 8 outputs needs one
// segment of 16 (S = 1) or 24 (S = 2) input values per (channel, tap row), 4 or 6 vector loads.
// Lane l reads the segment of pair (c, i) = kc + l; every lane takes pair kc + s from lane s by
// subgroupShuffle and multiplies its 8 pixels by KW weight 4-vectors. The weights come transposed,
// wt[(c*KH + i)*KW + j][o] (o contiguous), so one 4-vector holds an invocation's 4 output channels.
// Needs O % 4 == 0, W % 4 == 0, x_off and x_sn % 4 == 0 (checked by the wrapper).
// Reference: src/kernels/reference/conv2d.ts
enable subgroups;
const SEGMAX = 6u;
override WG: u32 = 16u;   // invocations per workgroup (4 output channels each); a multiple of the subgroup size
override KH: u32 = 3u;
override KW: u32 = 3u;    // taps per row (KW - PL <= 4*NSEG - 4 - 7*S)
override S: u32 = 1u;     // stride (1 or 2)
override PL: u32 = 1u;    // left padding (<= 4)
override NSEG: u32 = 4u;  // 4-vectors per input row segment: 4 for S = 1, 6 for S = 2 (<= SEGMAX)

struct Params {
  M: u32, O: u32, C: u32, H: u32, W: u32, Ho: u32, Wo: u32,
  pad_t: u32, x_off: u32, x_sn: u32, y_off: u32, y_sn: u32, r_off: u32, bias_off: u32, flags: u32, r_sn: u32,
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x4: array<vec4<T>>;
@group(0) @binding(2) var<storage, read> wt4: array<vec4<W>>;
@group(0) @binding(3) var<storage, read> bias: array<W>;
@group(0) @binding(4) var<storage, read> residual: array<T>;
@group(0) @binding(5) var<storage, read_write> y: array<T>;

fn finish(n: u32, o: u32, q: u32, acc: f32) {
  var v = acc;
  if ((p.flags & 1u) != 0u) { v += f32(bias[p.bias_off + o]); }
  let rel = n * p.y_sn + o * p.Ho * p.Wo + q;
  if ((p.flags & 2u) != 0u) { v += f32(residual[p.r_off + rel]); }
  // 8: a per-(sample, channel) term (the UNet resnets' time embedding) read from residual[n*r_sn + o]
  if ((p.flags & 8u) != 0u) { v += f32(residual[p.r_off + n * p.r_sn + o]); }
  if ((p.flags & 4u) != 0u) { v += f32(y[p.y_off + rel]); }
  y[p.y_off + rel] = T(v);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32,
        @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) sg: u32) {
  // pixel block = (n, ho, 8 columns from wo0); blocks fold into y and z
  let wblocks = (p.Wo + 7u) / 8u;
  let blk = wg.z * 65535u + wg.y;
  let bm = min(blk, p.M - 1u);
  let n = bm / (p.Ho * wblocks);
  let ho = (bm / wblocks) % p.Ho;
  let wo0 = (bm % wblocks) * 8u;
  let O4 = p.O / 4u;
  let og = wg.x * WG + li;  // this invocation's output channels 4*og .. 4*og + 3
  let ogc = min(og, O4 - 1u);
  let xb4 = (p.x_off + n * p.x_sn) / 4u;
  let seg0 = i32(wo0 * S) - 4;  // first input column of a segment (a multiple of 4)
  let P = p.C * KH;             // (channel, tap row) pairs
  var acc: array<vec4f, 8>;     // acc[pixel][channel]
  for (var kc = 0u; kc < P; kc += sg) {
    // this lane's pair: its input row segment, 0 outside the image
    let q = min(kc + lane, P - 1u);
    let ih = i32(ho * S + q % KH) - i32(p.pad_t);
    let row_ok = ih >= 0 && ih < i32(p.H) && kc + lane < P;
    let rb4 = xb4 + ((q / KH) * p.H * p.W + u32(clamp(ih, 0, i32(p.H) - 1)) * p.W) / 4u;
    var seg: array<vec4f, SEGMAX>;
    for (var v = 0u; v < NSEG; v++) {
      let col = seg0 + i32(4u * v);
      let cols = vec4i(col) + vec4i(0, 1, 2, 3);
      let ok = (cols >= vec4i(0)) & (cols < vec4i(i32(p.W))) & vec4<bool>(row_ok);
      seg[v] = select(vec4f(0.0), vec4f(x4[rb4 + u32(clamp(col, 0, i32(p.W) - 4)) / 4u]), ok);
    }
    let steps = min(sg, P - kc);
    for (var s = 0u; s < steps; s++) {
      var sv: array<vec4f, SEGMAX>;
      for (var v = 0u; v < NSEG; v++) { sv[v] = subgroupShuffle(seg[v], s); }
      let wrow = (kc + s) * KW;
      for (var j = 0u; j < KW; j++) {
        let wv = vec4f(wt4[(wrow + j) * O4 + ogc]);
        for (var px = 0u; px < 8u; px++) {
          let e = 4u + S * px + j - PL;  // a constant once the loops are unrolled
          acc[px] += sv[e / 4u][e % 4u] * wv;
        }
      }
    }
  }
  if (blk >= p.M || og >= O4) { return; }
  for (var px = 0u; px < 8u; px++) {
    let wo = wo0 + px;
    if (wo >= p.Wo) { break; }
    for (var c = 0u; c < 4u; c++) { finish(n, 4u * og + c, ho * p.Wo + wo, acc[px][c]); }
  }
}
