// GroupNorm backward, split reduction, step 3 of 3: merge the group's statistics and the chunk
// sums of group_norm_backward_sums.wgsl, then write this workgroup's chunk of
//   dx = rstd * (g - mean(g) - xhat * mean(g * xhat))  (+ acc)
//   x, dy, acc: [N, C, HW], part, sums: [N*groups, chunks], gamma, beta: [C] -> dx [N, C, HW]
// Every workgroup of a group repeats both merges: a few loads per invocation.
// Reference: src/kernels/reference/group_norm_backward.ts
override WG: u32 = 256u; // power of two: tree reduction
override SILU: u32 = 0u;

struct Params { C: u32, HW: u32, groups: u32, eps: f32, chunk: u32, chunks: u32, has_acc: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> dy: array<T>;
@group(0) @binding(3) var<storage, read> part: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read> sums: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read> gamma: array<W>;
@group(0) @binding(6) var<storage, read> beta: array<W>;
@group(0) @binding(7) var<storage, read> acc: array<T>;
@group(0) @binding(8) var<storage, read_write> dx: array<T>;

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

// Copied from group_norm_backward_sums.wgsl group_stats
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
  var a = vec2<f32>(0.0);
  for (var j = li; j < p.chunks; j += WG) { a += sums[wg.y * p.chunks + j]; }
  let mg = wg_sum(a.x, li) / f32(len);
  let mgx = wg_sum(a.y, li) / f32(len);
  let base = wg.y * len;
  let c0 = (wg.y % p.groups) * cpg;
  let start = wg.x * p.chunk;
  let end = min(start + p.chunk, len);
  for (var i = start + li; i < end; i += WG) {
    let c = c0 + i / p.HW;
    let xhat = (f32(x[base + i]) - st.x) * st.y;
    var v = st.y * (dz(base + i, c, xhat) * f32(gamma[c]) - mg - xhat * mgx);
    if (p.has_acc != 0u) { v += f32(acc[base + i]); }
    dx[base + i] = T(v);
  }
}
