// max |x| per row, step 1 of 2: one workgroup per chunk of a row.
//   x: [rows, M] -> part: [rows, chunks] u32 = bit pattern of max |x| over the chunk
// |x| is compared as its IEEE bit pattern with the sign cleared: for non-negative floats the
// u32 order is the numeric order, and every NaN pattern (> 0x7f800000) is above +inf, so a NaN
// propagates to the result without relying on max()'s NaN behaviour (unspecified in WGSL).
// Reference: src/kernels/reference/reduce.ts
override WG: u32 = 256u; // power of two: tree reduction

struct Params { M: u32, chunk: u32, chunks: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> part: array<u32>;

var<workgroup> red: array<u32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let base = wg.y * p.M;
  let start = wg.x * p.chunk;
  let end = min(start + p.chunk, p.M);
  var m = 0u;
  // f16 -> f32 conversion keeps NaN and inf
  for (var i = start + li; i < end; i += WG) { m = max(m, bitcast<u32>(f32(x[base + i])) & 0x7fffffffu); }
  red[li] = m;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (li < s) { red[li] = max(red[li], red[li + s]); }
    workgroupBarrier();
  }
  if (li == 0u) { part[wg.y * p.chunks + wg.x] = red[0]; }
}
