// max |x| per row, step 2 of 2: one workgroup per row merges the chunk maxima.
//   part: [rows, chunks] u32 (|x| bit patterns, see reduce_max_abs.wgsl) -> y: [rows] f32
// f32 whatever the input dtype: the sampler's scaled updates take f32 norms (axpby_scaled.wgsl),
// and a magnitude of an f16 input is exact in f32. NaN stays NaN.
// Reference: src/kernels/reference/reduce.ts
override WG: u32 = 256u; // power of two: tree reduction

struct Params { chunks: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> part: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

var<workgroup> red: array<u32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  var m = 0u;
  for (var j = li; j < p.chunks; j += WG) { m = max(m, part[wg.x * p.chunks + j]); }
  red[li] = m;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (li < s) { red[li] = max(red[li], red[li + s]); }
    workgroupBarrier();
  }
  if (li == 0u) { y[wg.x] = bitcast<f32>(red[0]); }
}
