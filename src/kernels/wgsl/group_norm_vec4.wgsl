// GroupNorm (+ optional fused SiLU) over NCHW, one workgroup per (n, group), vec4 loads:
// needs H*W % 4 == 0 (every SD shape), so a vec4 never straddles two channels.
//   x: [N, C, HW] -> y: [N, C, HW]; gamma, beta: [C]
// Group (n, g) is the contiguous run of cpg*HW values at (n*C + g*cpg)*HW, cpg = C/groups.
// Two-pass f32 statistics (mean, then squared deviations: no cancellation for large means),
// then a third pass normalises. vec4 loads are ~3x faster than scalar ones on lavapipe.
// group_norm_stats.wgsl + group_norm_apply.wgsl split large groups over several workgroups.
// Reference: src/kernels/reference/group_norm.ts
override WG: u32 = 256u; // power of two: tree reduction
// an override, not a Params flag: a uniform branch in the loop costs ~1.5x on lavapipe
override SILU: u32 = 0u;

struct Params { C: u32, HW: u32, groups: u32, eps: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<T>>;
@group(0) @binding(2) var<storage, read> gamma: array<W>;
@group(0) @binding(3) var<storage, read> beta: array<W>;
@group(0) @binding(4) var<storage, read_write> y: array<vec4<T>>;

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

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let cpg = p.C / p.groups;
  let hw4 = p.HW / 4u;
  let len4 = cpg * hw4;
  let base = wg.x * len4; // wg.x = n * groups + g; in vec4 units
  let c0 = (wg.x % p.groups) * cpg;
  let len = f32(4u * len4);

  var s = vec4<f32>(0.0);
  for (var i = li; i < len4; i += WG) { s += vec4<f32>(x[base + i]); }
  let mean = wg_sum(s.x + s.y + s.z + s.w, li) / len;
  var q = vec4<f32>(0.0);
  for (var i = li; i < len4; i += WG) {
    let d = vec4<f32>(x[base + i]) - mean;
    q += d * d;
  }
  // biased variance, as torch.nn.GroupNorm
  let rstd = inverseSqrt(wg_sum(q.x + q.y + q.z + q.w, li) / len + p.eps);

  for (var i = li; i < len4; i += WG) {
    let c = c0 + i / hw4;
    let sc = rstd * f32(gamma[c]);
    var v = (vec4<f32>(x[base + i]) - mean) * sc + f32(beta[c]); // x - mean first: no cancellation for large means
    if (SILU != 0u) { v = v / (1.0 + exp(-v)); }
    y[base + i] = vec4<T>(v);
  }
}
