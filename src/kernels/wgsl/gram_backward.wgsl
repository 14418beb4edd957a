// Input gradient of gram.wgsl (G = F^T F):
//   f [N, T, D], dg [N, D, D] -> df [N, T, D], df[t, d] = sum_e f[t, e] (dG[e, d] + dG[d, e]) for
//   t >= skip and 0 on the skipped (CLS) rows. dG need not be symmetric.
// Workgroup grid (D / TILE, T / TILE, N); tiled as linear_backward.wgsl: rows = t, columns = d,
// contraction over e.
// Reference: src/kernels/reference/gram_backward.ts
override TILE: u32 = 16u;

struct Params { T: u32, D: u32, skip: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> f: array<T>;
@group(0) @binding(2) var<storage, read> dg: array<T>;
@group(0) @binding(3) var<storage, read_write> df: array<T>;

var<workgroup> ta: array<f32, TILE * TILE>; // [t][e]
var<workgroup> tb: array<f32, TILE * TILE>; // [e][d]

@compute @workgroup_size(TILE, TILE)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let n = wg.z;
  let row = wg.y * TILE + lid.y; // t
  let col = wg.x * TILE + lid.x; // d
  let gb = n * p.D * p.D;
  var s = 0.0;
  for (var e0 = 0u; e0 < p.D; e0 += TILE) {
    let ea = e0 + lid.x;
    var a = 0.0;
    if (row < p.T && row >= p.skip && ea < p.D) { a = f32(f[(n * p.T + row) * p.D + ea]); }
    let eb = e0 + lid.y;
    var b = 0.0;
    if (eb < p.D && col < p.D) { b = f32(dg[gb + eb * p.D + col]) + f32(dg[gb + col * p.D + eb]); }
    ta[lid.y * TILE + lid.x] = a;
    tb[lid.y * TILE + lid.x] = b;
    workgroupBarrier();
    for (var j = 0u; j < TILE; j++) { s += ta[lid.y * TILE + j] * tb[j * TILE + lid.x]; }
    workgroupBarrier();
  }
  if (row < p.T && col < p.D) { df[(n * p.T + row) * p.D + col] = T(s); }
}
