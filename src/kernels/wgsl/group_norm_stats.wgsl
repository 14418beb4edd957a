// GroupNorm, split reduction, step 1 of 2: statistics of one chunk of one group (vec4 loads;
// H*W % 4 == 0 and chunk % 4 == 0).
//   x: [N, C, HW] -> part: [N*groups, chunks] of (chunk mean, chunk M2 = sum (x - chunk mean)^2)
// Grid (chunks, N*groups): large groups ([2,320,64,64] has 64 groups of 40960 values) get
// enough workgroups to fill a GPU. Two-pass within the chunk (it is re-read from cache), so a
// large mean does not cancel; group_norm_apply.wgsl merges the chunks (Chan et al.).
// Reference: src/kernels/reference/group_norm.ts
override WG: u32 = 256u; // power of two: tree reduction

struct Params { C: u32, HW: u32, groups: u32, chunk: u32, chunks: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<T>>;
@group(0) @binding(2) var<storage, read_write> part: array<vec2<f32>>;

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
  let len4 = (p.C / p.groups) * (p.HW / 4u);
  let base = wg.y * len4; // wg.y = n * groups + g; in vec4 units
  let start = wg.x * (p.chunk / 4u);
  let end = min(start + p.chunk / 4u, len4);
  let count = f32(4u * (end - start));

  var s = vec4<f32>(0.0);
  for (var i = start + li; i < end; i += WG) { s += vec4<f32>(x[base + i]); }
  let mean = wg_sum(s.x + s.y + s.z + s.w, li) / count;
  var q = vec4<f32>(0.0);
  for (var i = start + li; i < end; i += WG) {
    let d = vec4<f32>(x[base + i]) - mean;
    q += d * d;
  }
  let m2 = wg_sum(q.x + q.y + q.z + q.w, li);
  if (li == 0u) { part[wg.y * p.chunks + wg.x] = vec2<f32>(mean, m2); }
}
