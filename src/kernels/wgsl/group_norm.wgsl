// GroupNorm (+ optional fused SiLU) over NCHW, one workgroup per (n, group), scalar loads:
// the fallback for H*W not a multiple of 4 (group_norm_vec4.wgsl is this with vec4 loads).
//   x: [N, C, HW] -> y: [N, C, HW]; gamma, beta: [C]
// Group (n, g) is the contiguous run of cpg*HW values at (n*C + g*cpg)*HW, cpg = C/groups.
// Statistics are two-pass in f32 (mean first, then the sum of squared deviations), so inputs
// with a large mean (e.g. mean 100, std 1) keep their variance; a third pass normalises.
// Reference: src/kernels/reference/group_norm.ts
override WG: u32 = 256u; // power of two: tree reduction
// an override, not a Params flag: a uniform branch in the loop costs ~1.5x on lavapipe
override SILU: u32 = 0u;

struct Params { C: u32, HW: u32, groups: u32, eps: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> gamma: array<W>;
@group(0) @binding(3) var<storage, read> beta: array<W>;
@group(0) @binding(4) var<storage, read_write> y: array<T>;

var<workgroup> red: array<f32, WG>;

// Sum of v over the workgroup (every invocation gets it). Must be called in uniform control flow.
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

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let cpg = p.C / p.groups;
  let len = cpg * p.HW;
  let base = wg.x * len; // wg.x = n * groups + g
  let c0 = (wg.x % p.groups) * cpg;

  var s = 0.0;
  for (var i = li; i < len; i += WG) { s += f32(x[base + i]); }
  let mean = wg_sum(s, li) / f32(len);
  var q = 0.0;
  for (var i = li; i < len; i += WG) {
    let d = f32(x[base + i]) - mean;
    q += d * d;
  }
  // biased variance, as torch.nn.GroupNorm
  let rstd = inverseSqrt(wg_sum(q, li) / f32(len) + p.eps);

  for (var i = li; i < len; i += WG) {
    let c = c0 + i / p.HW;
    let sc = rstd * f32(gamma[c]);
    var v = (f32(x[base + i]) - mean) * sc + f32(beta[c]); // x - mean first: no cancellation for large means
    if (SILU != 0u) { v = v / (1.0 + exp(-v)); }
    y[base + i] = T(v);
  }
}
