// GroupNorm, split reduction, step 2 of 2: merge the chunk statistics of the group, then
// normalise this workgroup's chunk (+ optional fused SiLU); vec4 loads, H*W % 4 == 0.
//   x: [N, C, HW], part: [N*groups, chunks] (mean_c, M2_c), gamma, beta: [C] -> y: [N, C, HW]
// Merge (Chan, Golub & LeVeque): mean = sum n_c mean_c / n,
//   M2 = sum M2_c + n_c (mean_c - mean)^2 : again two passes, now over the chunks (few).
// Every workgroup of a group repeats the merge; that costs ~2 loads per invocation.
// Reference: src/kernels/reference/group_norm.ts
override WG: u32 = 256u; // power of two: tree reduction
override SILU: u32 = 0u;

struct Params { C: u32, HW: u32, groups: u32, eps: f32, chunk: u32, chunks: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<T>>;
@group(0) @binding(2) var<storage, read> part: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> gamma: array<W>;
@group(0) @binding(4) var<storage, read> beta: array<W>;
@group(0) @binding(5) var<storage, read_write> y: array<vec4<T>>;

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
  let len = cpg * p.HW;
  let pbase = wg.y * p.chunks; // wg.y = n * groups + g

  var s = 0.0;
  for (var j = li; j < p.chunks; j += WG) {
    let nc = f32(min(p.chunk, len - j * p.chunk));
    s += nc * part[pbase + j].x;
  }
  let mean = wg_sum(s, li) / f32(len);
  var q = 0.0;
  for (var j = li; j < p.chunks; j += WG) {
    let nc = f32(min(p.chunk, len - j * p.chunk));
    let st = part[pbase + j];
    let d = st.x - mean;
    q += st.y + nc * d * d;
  }
  let rstd = inverseSqrt(wg_sum(q, li) / f32(len) + p.eps); // biased variance

  let hw4 = p.HW / 4u;
  let base = wg.y * (len / 4u); // in vec4 units
  let c0 = (wg.y % p.groups) * cpg;
  let start = wg.x * (p.chunk / 4u);
  let end = min(start + p.chunk / 4u, len / 4u);
  for (var i = start + li; i < end; i += WG) {
    let c = c0 + i / hw4;
    let sc = rstd * f32(gamma[c]);
    var v = (vec4<f32>(x[base + i]) - mean) * sc + f32(beta[c]); // x - mean first: no cancellation for large means
    if (SILU != 0u) { v = v / (1.0 + exp(-v)); }
    y[base + i] = vec4<T>(v);
  }
}
