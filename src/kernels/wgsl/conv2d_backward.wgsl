// Input gradient of conv2d (NCHW, groups 1, dilation 1) as a transposed convolution, an implicit
// GEMM with workgroup-memory tiles (the layout of conv2d_tiled.wgsl, roles swapped): rows are
// input pixels, columns input channels c, k = (tap, output channel o):
//   dx[n, c, ih, iw] = sum_{i, j, o} dy[n, o, oh, ow] * w[o, c, i, j]
//   with oh = (ih + pad_t - i) / stride, ow = (iw + pad_l - j) / stride exact and inside dy.
// Which taps divide exactly depends only on ih, iw mod stride, so one dispatch serves one parity
// class (ph, pw) of input pixels, ih = ph + a * stride, iw = pw + b * stride, and walks only its
// taps i = i0, i0 + stride, ... (i0 = (ph + pad_t) mod stride): for a 3x3 stride-2 conv the four
// classes stage 4 + 2 + 2 + 1 taps instead of 9 each. Stride 1 is one class with every tap.
// Per tap, BK output channels of dy (zero outside it) and of w are staged as f32, so there is no
// col2im buffer and no scatter (no atomics): each dx value is written once, by one invocation.
//   dy [N, O, Ho, Wo], w [O, C, KH, KW], acc [N, C, H, W] (when has_acc) -> dx [N, C, H, W]
// Needs WG_X and WG_Y multiples of 4 (the staging loops step NT / BM and NT / BN).
// Reference: src/kernels/reference/conv2d_backward.ts
const TM = 4u;
const TN = 4u;
override WG_X: u32 = 16u;  // invocations along c
override WG_Y: u32 = 16u;  // invocations along pixels
override BK: u32 = 16u;    // output channels per staged slice

struct Params {
  M: u32, C: u32, O: u32, H: u32, W: u32, Ho: u32, Wo: u32,
  KH: u32, KW: u32, stride: u32, pad_t: u32, pad_l: u32, has_acc: u32,
  ph: u32, pw: u32, Hc: u32, Wc: u32,  // this dispatch's parity class: Hc x Wc pixels per sample
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<T>;
@group(0) @binding(2) var<storage, read> w: array<W>;
@group(0) @binding(3) var<storage, read> acc: array<T>;
@group(0) @binding(4) var<storage, read_write> dx: array<T>;

var<workgroup> As: array<f32, BK * WG_Y * TM>;  // [BK][BM] dy
var<workgroup> Bs: array<f32, BK * WG_X * TN>;  // [BK][BN] w

// Class pixel m -> (n, ih, iw)
fn pixel(m: u32) -> vec3u {
  let hwc = p.Hc * p.Wc;
  let r = m % hwc;
  return vec3u(m / hwc, p.ph + (r / p.Wc) * p.stride, p.pw + (r % p.Wc) * p.stride);
}

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let BM = WG_Y * TM;
  let BN = WG_X * TN;
  let NT = WG_X * WG_Y;
  let HW = p.H * p.W;
  let hwo = p.Ho * p.Wo;
  let KK = p.KH * p.KW;
  let m0 = (wg.z * 65535u + wg.y) * BM;  // pixel tiles fold into y and z
  let c0 = wg.x * BN;
  // the input pixel and input channel this invocation stages
  let mm = li % BM;
  let m = m0 + mm;
  let px = pixel(min(m, p.M - 1u));
  let dyb = px.x * p.O * hwo;
  let ih = i32(px.y + p.pad_t);
  let iw = i32(px.z + p.pad_l);
  let s = i32(p.stride);
  let nn = li % BN;
  let c = c0 + nn;
  let cc = min(c, p.C - 1u);
  var a: array<vec4f, TM>;  // a[i][j]: pixel lid.y + i * WG_Y, channel lid.x + j * WG_X
  // the class's taps: th = ih - i is a multiple of the stride for each of them (uniform bounds)
  for (var i = (p.ph + p.pad_t) % p.stride; i < p.KH; i += p.stride) {
    for (var j = (p.pw + p.pad_l) % p.stride; j < p.KW; j += p.stride) {
      let th = ih - i32(i);
      let tw = iw - i32(j);
      let oh = th / s;
      let ow = tw / s;
      let ok = m < p.M && th >= 0 && tw >= 0 && oh < i32(p.Ho) && ow < i32(p.Wo);
      let src = dyb + u32(clamp(oh, 0, i32(p.Ho) - 1)) * p.Wo + u32(clamp(ow, 0, i32(p.Wo) - 1));
      let tap = i * p.KW + j;
      for (var o0 = 0u; o0 < p.O; o0 += BK) {
        for (var kk = li / BM; kk < BK; kk += NT / BM) {
          let o = o0 + kk;
          var v = 0.0;
          if (ok && o < p.O) { v = f32(dy[src + o * hwo]); }
          As[kk * BM + mm] = v;
        }
        for (var kk = li / BN; kk < BK; kk += NT / BN) {
          let o = o0 + kk;
          var v = 0.0;
          if (c < p.C && o < p.O) { v = f32(w[(o * p.C + cc) * KK + tap]); }
          Bs[kk * BN + nn] = v;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < BK; kk++) {
          let ar = kk * BM + lid.y;
          let br = kk * BN + lid.x;
          let av = vec4f(As[ar], As[ar + WG_Y], As[ar + 2u * WG_Y], As[ar + 3u * WG_Y]);
          let bv = vec4f(Bs[br], Bs[br + WG_X], Bs[br + 2u * WG_X], Bs[br + 3u * WG_X]);
          for (var t = 0u; t < TM; t++) { a[t] += av[t] * bv; }
        }
        workgroupBarrier();
      }
    }
  }
  for (var t = 0u; t < TM; t++) {
    let mo = m0 + lid.y + t * WG_Y;
    if (mo >= p.M) { continue; }
    let px_o = pixel(mo);
    for (var u = 0u; u < TN; u++) {
      let co = c0 + lid.x + u * WG_X;
      if (co >= p.C) { continue; }
      let at = (px_o.x * p.C + co) * HW + px_o.y * p.W + px_o.z;
      var v = a[t][u];
      if (p.has_acc != 0u) { v += f32(acc[at]); }
      dx[at] = T(v);
    }
  }
}
