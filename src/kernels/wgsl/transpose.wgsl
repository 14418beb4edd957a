// Batched transpose through a workgroup-memory tile, so both the reads and the writes of a
// workgroup row touch consecutive addresses (coalesced on GPUs).
//   x: [B, R, C] -> y: [B, C, R]   (NCHW [N, C, HW] <-> tokens [N, HW, C])
// Grid (ceil(C/TILE), ceil(R/TILE), B); any R, C (edge tiles are masked).
// Reference: src/kernels/reference/transpose.ts
override TILE: u32 = 16u; // TILE*TILE invocations: 16 -> 256, the browser limit

struct Params { R: u32, C: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> y: array<T>;

// +1 column of padding: the column-wise reads below hit different banks
var<workgroup> tile: array<f32, TILE * (TILE + 1u)>;

@compute @workgroup_size(TILE, TILE)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let plane = wg.z * p.R * p.C;
  // read: lid.x runs along C (contiguous in x)
  let r = wg.y * TILE + lid.y;
  let c = wg.x * TILE + lid.x;
  if (r < p.R && c < p.C) { tile[lid.y * (TILE + 1u) + lid.x] = f32(x[plane + r * p.C + c]); }
  workgroupBarrier();
  // write: lid.x runs along R (contiguous in y)
  let c2 = wg.x * TILE + lid.y;
  let r2 = wg.y * TILE + lid.x;
  if (c2 < p.C && r2 < p.R) { y[plane + c2 * p.R + r2] = T(tile[lid.x * (TILE + 1u) + lid.y]); }
}
