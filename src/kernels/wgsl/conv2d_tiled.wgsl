// Conv2d as an implicit GEMM with workgroup-memory tiles (for GPUs). Same contract and parameters
// as conv2d_subgroup.wgsl: rows are output pixels m = (n, ho, wo), columns output channels o, but
// k runs taps outside and channels inside, so a staged slice is one tap's channels. A workgroup computes (TM*WG_Y) pixels x (TN*WG_X) channels; per tap, BK input
// channels of the pixel tile (zero in the padding) and of the weights are staged in workgroup
// memory as f32. Every invocation stages one fixed pixel (li % BM) and one fixed output channel
// (li % BN), so pixel decoding happens once, and consecutive invocations read consecutive pixels
// (coalesced NCHW reads). Needs WG_X and WG_Y to be multiples of 4 (checked by the wrapper).
// Reference: src/kernels/reference/conv2d.ts
const TM = 4u;
const TN = 4u;
override WG_X: u32 = 16u;  // invocations along o
override WG_Y: u32 = 16u;  // invocations along pixels
override BK: u32 = 16u;    // input channels per staged slice

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
@group(0) @binding(3) var<storage, read> bias: array<W>;
@group(0) @binding(4) var<storage, read> residual: array<T>;
@group(0) @binding(5) var<storage, read_write> y: array<T>;

var<workgroup> As: array<f32, BK * WG_Y * TM>;  // [BK][BM]
var<workgroup> Bs: array<f32, BK * WG_X * TN>;  // [BK][BN]

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

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let BM = WG_Y * TM;
  let BN = WG_X * TN;
  let NT = WG_X * WG_Y;
  let hw = p.Ho * p.Wo;
  let HW = p.H * p.W;
  let KK = p.KH * p.KW;
  let m0 = (wg.z * 65535u + wg.y) * BM;  // pixel tiles fold into y and z
  let o0 = wg.x * BN;
  // the pixel and output channel this invocation stages
  let mm = li % BM;
  let m = m0 + mm;
  let mc = min(m, p.M - 1u);
  let q = mc % hw;
  let xb = p.x_off + (mc / hw) * p.x_sn;
  let ih0 = i32((q / p.Wo) * p.stride) - i32(p.pad_t);
  let iw0 = i32((q % p.Wo) * p.stride) - i32(p.pad_l);
  let nn = li % BN;
  let o = o0 + nn;
  let wb = p.w_off + min(o, p.O - 1u) * p.w_so;
  var acc: array<vec4f, TM>;  // acc[i][j]
  for (var i = 0u; i < p.KH; i++) {
    for (var j = 0u; j < p.KW; j++) {
      let ih = ih0 + i32(i);
      let iw = iw0 + i32(j);
      let Hv = i32(p.H << p.ush);  // the (virtually upsampled) input the conv sees
      let Wv = i32(p.W << p.ush);
      let ok = m < p.M && ih >= 0 && ih < Hv && iw >= 0 && iw < Wv;
      let src = xb + (u32(clamp(ih, 0, Hv - 1)) >> p.ush) * p.W + (u32(clamp(iw, 0, Wv - 1)) >> p.ush);
      let tap = i * p.KW + j;
      for (var c0 = 0u; c0 < p.C; c0 += BK) {
        for (var kk = li / BM; kk < BK; kk += NT / BM) {
          let c = c0 + kk;
          var v = 0.0;
          if (ok && c < p.C) { v = f32(x[src + c * HW]); }
          As[kk * BM + mm] = v;
        }
        for (var kk = li / BN; kk < BK; kk += NT / BN) {
          let c = c0 + kk;
          var v = 0.0;
          if (o < p.O && c < p.C) { v = f32(w[wb + c * KK + tap]); }
          Bs[kk * BN + nn] = v;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < BK; kk++) {
          let ar = kk * BM + lid.y;
          let br = kk * BN + lid.x;
          let av = vec4f(As[ar], As[ar + WG_Y], As[ar + 2u * WG_Y], As[ar + 3u * WG_Y]);
          let bv = vec4f(Bs[br], Bs[br + WG_X], Bs[br + 2u * WG_X], Bs[br + 3u * WG_X]);
          for (var t = 0u; t < TM; t++) { acc[t] += av[t] * bv; }
        }
        workgroupBarrier();
      }
    }
  }
  for (var t = 0u; t < TM; t++) {
    let mo = m0 + lid.y + t * WG_Y;
    for (var u = 0u; u < TN; u++) {
      let oo = o0 + lid.x + u * WG_X;
      if (mo < p.M && oo < p.O) { finish(mo, oo, acc[t][u]); }
    }
  }
}
