// Style Gram matrix, unnormalised: G[n] = F^T F with F = f[n, skip:, :] (skip = 1 drops CLS).
//   f [N, T, D] -> g [N, D, D]; workgroup grid (D / TILE, D / TILE, N).
// Tiled as linear_backward.wgsl: rows = d, columns = e, contraction over tokens. The A tile is
// loaded with invocations along x reading consecutive channels of one token (coalesced) and
// stored transposed.
// Reference: src/kernels/reference/gram.ts
override TILE: u32 = 16u;

struct Params { T: u32, D: u32, skip: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> f: array<T>;
@group(0) @binding(2) var<storage, read_write> g: array<T>;

var<workgroup> ta: array<f32, TILE * TILE>; // [d][t]
var<workgroup> tb: array<f32, TILE * TILE>; // [t][e]

@compute @workgroup_size(TILE, TILE)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let n = wg.z;
  let rows = p.T - p.skip;
  let base = (n * p.T + p.skip) * p.D;
  let row = wg.y * TILE + lid.y; // d
  let col = wg.x * TILE + lid.x; // e
  var s = 0.0;
  for (var t0 = 0u; t0 < rows; t0 += TILE) {
    let t = t0 + lid.y;
    var a = 0.0;
    if (t < rows && wg.y * TILE + lid.x < p.D) { a = f32(f[base + t * p.D + wg.y * TILE + lid.x]); }
    var b = 0.0;
    if (t < rows && col < p.D) { b = f32(f[base + t * p.D + col]); }
    ta[lid.x * TILE + lid.y] = a;
    tb[lid.y * TILE + lid.x] = b;
    workgroupBarrier();
    for (var j = 0u; j < TILE; j++) { s += ta[lid.y * TILE + j] * tb[j * TILE + lid.x]; }
    workgroupBarrier();
  }
  if (row < p.D && col < p.D) { g[(n * p.D + row) * p.D + col] = T(s); }
}
