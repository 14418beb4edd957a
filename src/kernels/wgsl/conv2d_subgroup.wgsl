// Conv2d as an implicit GEMM with subgroup shuffles (CPU adapters). No im2col buffer.
//   y[n, o, ho, wo] = sum_{c, i, j} x[n, c, ho*stride - pad_t + i, wo*stride - pad_l + j] * w[o, c, i, j]
//                     (+ bias[o]) (+ residual[n, o, ho, wo]) (+ y: partial sums over channel chunks)
// GEMM rows are output pixels m = (n, ho, wo), columns output channels o, and k = c*KH*KW + tap
// in the weights' own order, so a weight row is contiguous (read as 4-vectors when W4). As in
// matmul_subgroup.wgsl an invocation owns R pixels x 4 channels (o0 + c*WG); lane l decodes and
// reads the 4-wide k chunk kc + l of every pixel (0 in the padding) and the other lanes get it by
// subgroupShuffle. Element offsets (x_off, w_off, ...) let a caller bind sub-ranges.
// Reference: src/kernels/reference/conv2d.ts
enable subgroups;
const RMAX = 8u;
override R: u32 = 8u;      // output pixels per invocation (<= RMAX)
override WG: u32 = 64u;    // invocations per workgroup (along o); a multiple of the subgroup size
override W4: bool = false; // weight rows 4-aligned (C*KH*KW, w_so, w_off multiples of 4): read w4

struct Params {
  M: u32, O: u32, C: u32, H: u32, W: u32, Ho: u32, Wo: u32,
  KH: u32, KW: u32, stride: u32, pad_t: u32, pad_l: u32,
  x_off: u32, x_sn: u32, w_off: u32, w_so: u32,
  y_off: u32, y_sn: u32, r_off: u32, bias_off: u32, flags: u32, r_sn: u32,
  ush: u32,  // log2 of a nearest upsampling fused into the gather: x read at ih >> ush and iw >> ush
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> w: array<W>;
@group(0) @binding(3) var<storage, read> w4: array<vec4<W>>;  // the same buffer as w
@group(0) @binding(4) var<storage, read> bias: array<W>;
@group(0) @binding(5) var<storage, read> residual: array<T>;
@group(0) @binding(6) var<storage, read_write> y: array<T>;

// Weights k..k+3 of one output channel's row (k past K = C*KH*KW reads 0 on the scalar path).
fn ld_w(base: u32, k: u32) -> vec4f {
  if (W4) { return vec4f(w4[(base + k) / 4u]); }
  let K = p.C * p.KH * p.KW;
  let ks = vec4u(k) + vec4u(0u, 1u, 2u, 3u);
  let i = vec4u(base) + min(ks, vec4u(K - 1u));
  return select(vec4f(0.0), vec4f(f32(w[i.x]), f32(w[i.y]), f32(w[i.z]), f32(w[i.w])), ks < vec4u(K));
}

fn finish(m: u32, o: u32, acc: f32) {
  let hw = p.Ho * p.Wo;
  var v = acc;
  if ((p.flags & 1u) != 0u) { v += f32(bias[p.bias_off + o]); }
  let rel = (m / hw) * p.y_sn + o * hw + m % hw;
  if ((p.flags & 2u) != 0u) { v += f32(residual[p.r_off + rel]); }
  // 8: a per-(sample, channel) term (the UNet resnets' time embedding) read from residual[n*r_sn + o]
  if ((p.flags & 8u) != 0u) { v += f32(residual[p.r_off + (m / hw) * p.r_sn + o]); }
  if ((p.flags & 4u) != 0u) { v += f32(y[p.y_off + rel]); }
  y[p.y_off + rel] = T(v);
}

// Exact floor(a / b) for the small integers here (a < 2^22), with vector float division:
// lavapipe would scalarise an integer division lane by lane.
fn fdiv(a: vec4u, b: u32) -> vec4u {
  return vec4u((vec4f(a) + 0.5) / f32(b));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32,
        @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) sg: u32) {
  let m0 = (wg.z * 65535u + wg.y) * R;  // pixel blocks fold into y and z
  let o0 = wg.x * WG * 4u + li;
  let hw = p.Ho * p.Wo;
  let HW = p.H * p.W;
  let KK = p.KH * p.KW;
  let K = p.C * KK;
  // per pixel: its sample's base offset and the top-left corner of its window (clamped m)
  var xb: array<u32, RMAX>;
  var ih0: array<i32, RMAX>;
  var iw0: array<i32, RMAX>;
  for (var r = 0u; r < R; r++) {
    let m = min(m0 + r, p.M - 1u);
    let q = m % hw;
    xb[r] = p.x_off + (m / hw) * p.x_sn;
    ih0[r] = i32((q / p.Wo) * p.stride) - i32(p.pad_t);
    iw0[r] = i32((q % p.Wo) * p.stride) - i32(p.pad_l);
  }
  var wrow: array<u32, 4>;
  for (var c = 0u; c < 4u; c++) { wrow[c] = p.w_off + min(o0 + c * WG, p.O - 1u) * p.w_so; }
  var acc: array<vec4f, RMAX>;  // acc[r][c]
  let K4 = (K + 3u) / 4u;
  for (var kc = 0u; kc < K4; kc += sg) {
    // this lane's chunk: k = 4*(kc + lane) + 0..3 -> channel, tap row i, tap column j
    let ks = vec4u(4u * (kc + lane)) + vec4u(0u, 1u, 2u, 3u);
    let ch = fdiv(ks, KK);
    let tap = ks - ch * KK;
    let ti = fdiv(tap, p.KW);
    let tj = tap - ti * p.KW;
    let kin = ks < vec4u(K);
    let coff = min(ch, vec4u(p.C - 1u)) * HW;
    var av: array<vec4f, RMAX>;
    for (var r = 0u; r < R; r++) {
      let ih = vec4i(ih0[r]) + vec4i(ti);
      let iw = vec4i(iw0[r]) + vec4i(tj);
      // (ih, iw) in the (virtually upsampled) input the conv sees; shifts, not divisions (lavapipe)
      let Hv = i32(p.H << p.ush);
      let Wv = i32(p.W << p.ush);
      let ok = kin & (ih >= vec4i(0)) & (ih < vec4i(Hv)) & (iw >= vec4i(0)) & (iw < vec4i(Wv));
      let src = vec4u(xb[r]) + coff + (vec4u(clamp(ih, vec4i(0), vec4i(Hv - 1))) >> vec4u(p.ush)) * p.W
              + (vec4u(clamp(iw, vec4i(0), vec4i(Wv - 1))) >> vec4u(p.ush));
      av[r] = select(vec4f(0.0), vec4f(f32(x[src.x]), f32(x[src.y]), f32(x[src.z]), f32(x[src.w])), ok);
    }
    let steps = min(sg, K4 - kc);
    for (var s = 0u; s < steps; s++) {
      let k = 4u * (kc + s);
      let b0 = ld_w(wrow[0], k);
      let b1 = ld_w(wrow[1], k);
      let b2 = ld_w(wrow[2], k);
      let b3 = ld_w(wrow[3], k);
      for (var r = 0u; r < R; r++) {
        let v = subgroupShuffle(av[r], s);
        acc[r] += vec4f(dot(v, b0), dot(v, b1), dot(v, b2), dot(v, b3));
      }
    }
  }
  for (var r = 0u; r < R; r++) {
    let m = m0 + r;
    if (m >= p.M) { break; }
    for (var c = 0u; c < 4u; c++) {
      let o = o0 + c * WG;
      if (o < p.O) { finish(m, o, acc[r][c]); }
    }
  }
}
