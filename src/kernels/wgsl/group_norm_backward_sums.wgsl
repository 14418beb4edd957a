// GroupNorm backward, split reduction, step 2 of 3 (after group_norm_stats.wgsl): per chunk of
// a group, the partial sums of g = dz * gamma and g * xhat that the input gradient needs
// (group_norm_backward.wgsl's formulas), with the group's mean and rstd merged from the chunk
// statistics first. Grid (chunks, N*groups): a large group gets many workgroups on a GPU.
//   x, dy: [N, C, HW], part: [N*groups, chunks] (mean_c, M2_c), gamma, beta: [C]
//   -> sums: [N*groups, chunks] (sum g, sum g * xhat)
// Reference: src/kernels/reference/group_norm_backward.ts
override WG: u32 = 256u; // power of two: tree reduction
override SILU: u32 = 0u;

struct Params { C: u32, HW: u32, groups: u32, eps: f32, chunk: u32, chunks: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> dy: array<T>;
@group(0) @binding(3) var<storage, read> part: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read> gamma: array<W>;
@group(0) @binding(5) var<storage, read> beta: array<W>;
@group(0) @binding(6) var<storage, read_write> sums: array<vec2<f32>>;

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

// (mean, rstd) of group `row` from its chunk statistics, merged as group_norm_apply.wgsl does
// (Chan, Golub & LeVeque; two passes over the chunks).
fn group_stats(row: u32, len: u32, li: u32) -> vec2<f32> {
  let pbase = row * p.chunks;
  var s = 0.0;
  for (var j = li; j < p.chunks; j += WG) { s += f32(min(p.chunk, len - j * p.chunk)) * part[pbase + j].x; }
  let mean = wg_sum(s, li) / f32(len);
  var q = 0.0;
  for (var j = li; j < p.chunks; j += WG) {
    let st = part[pbase + j];
    let d = st.x - mean;
    q += st.y + f32(min(p.chunk, len - j * p.chunk)) * d * d;
  }
  return vec2<f32>(mean, inverseSqrt(wg_sum(q, li) / f32(len) + p.eps)); // biased variance
}

// Copied from group_norm_backward.wgsl dz
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
  let st = group_stats(wg.y, len, li); // wg.y = n * groups + g
  let base = wg.y * len;
  let c0 = (wg.y % p.groups) * cpg;
  let start = wg.x * p.chunk;
  let end = min(start + p.chunk, len);
  var sg = 0.0;
  var sgx = 0.0;
  for (var i = start + li; i < end; i += WG) {
    let c = c0 + i / p.HW;
    let xhat = (f32(x[base + i]) - st.x) * st.y;
    let g = dz(base + i, c, xhat) * f32(gamma[c]);
    sg += g;
    sgx += g * xhat;
  }
  let a = wg_sum(sg, li);
  let b = wg_sum(sgx, li);
  if (li == 0u) { sums[wg.y * p.chunks + wg.x] = vec2<f32>(a, b); }
}
