// Input gradient of GroupNorm (+ optional fused SiLU) over NCHW, one workgroup per (n, group):
//   y = silu?(z), z = xhat * gamma[c] + beta[c], xhat = (x - mean) * rstd over the group
//   dz = dy * silu'(z) (or dy), g = dz * gamma[c]
//   dx = rstd * (g - mean(g) - xhat * mean(g * xhat))  (+ acc)
// The statistics are recomputed from x exactly as group_norm.wgsl does (two-pass f32), so no
// forward state needs saving; beta is read only for z under SiLU. `acc` (when has_acc) is the
// gradient reaching x along a residual branch, added here to spare an elementwise pass.
//   x, dy, acc: [N, C, HW] -> dx [N, C, HW]; gamma, beta: [C]
// Reference: src/kernels/reference/group_norm_backward.ts
override WG: u32 = 256u; // power of two: tree reduction
// an override, not a Params flag, as in the forward (a uniform branch in the loop is slower)
override SILU: u32 = 0u;

struct Params { C: u32, HW: u32, groups: u32, eps: f32, has_acc: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> dy: array<T>;
@group(0) @binding(3) var<storage, read> gamma: array<W>;
@group(0) @binding(4) var<storage, read> beta: array<W>;
@group(0) @binding(5) var<storage, read> acc: array<T>;
@group(0) @binding(6) var<storage, read_write> dx: array<T>;

var<workgroup> red: array<f32, WG>;

// Copied from group_norm.wgsl wg_sum
fn wg_sum(v: f32, li: u32) -> f32 {
  red[li] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (li < s) { red[li] = red[li] + red[li + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier(); // red is reused by the next call
  return r;
}

// dL/dz at one value: dy, times silu'(z) = s (1 + z (1 - s)) when SiLU is fused
fn dz(i: u32, c: u32, xhat: f32) -> f32 {
  var d = f32(dy[i]);
  if (SILU != 0u) {
    let z = xhat * f32(gamma[c]) + f32(beta[c]);
    let s = 1.0 / (1.0 + exp(-z));
    d *= s * (1.0 + z * (1.0 - s));
  }
  return d;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let cpg = p.C / p.groups;
  let len = cpg * p.HW;
  let base = wg.x * len; // wg.x = n * groups + g
  let c0 = (wg.x % p.groups) * cpg;
  let n = f32(len);

  var s = 0.0;
  for (var i = li; i < len; i += WG) { s += f32(x[base + i]); }
  let mean = wg_sum(s, li) / n;
  var q = 0.0;
  for (var i = li; i < len; i += WG) {
    let d = f32(x[base + i]) - mean;
    q += d * d;
  }
  let rstd = inverseSqrt(wg_sum(q, li) / n + p.eps);

  var sg = 0.0;
  var sgx = 0.0;
  for (var i = li; i < len; i += WG) {
    let c = c0 + i / p.HW;
    let xhat = (f32(x[base + i]) - mean) * rstd;
    let g = dz(base + i, c, xhat) * f32(gamma[c]);
    sg += g;
    sgx += g * xhat;
  }
  let mg = wg_sum(sg, li) / n;
  let mgx = wg_sum(sgx, li) / n;
  for (var i = li; i < len; i += WG) {
    let c = c0 + i / p.HW;
    let xhat = (f32(x[base + i]) - mean) * rstd;
    var v = rstd * (dz(base + i, c, xhat) * f32(gamma[c]) - mg - xhat * mgx);
    if (p.has_acc != 0u) { v += f32(acc[base + i]); }
    dx[base + i] = T(v);
  }
}
