// Input gradient of torch.nn.Linear (y = x W^T + b):  dx = dy W (+ acc)
//   dy [M, Nout] (T), w [Nout, K] (W, the checkpoint layout, read as is), acc [M, K] (T, when
//   has_acc: the gradient already reaching x along a residual branch or another projection)
//   -> dx [M, K]
// Tiled: one TILE x TILE block of dx per workgroup, one output per invocation; the contraction
// over Nout is staged through workgroup memory TILE at a time. f32 accumulation.
// Reference: src/kernels/reference/linear_backward.ts
override TILE: u32 = 16u;

struct Params { M: u32, K: u32, Nout: u32, has_acc: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<T>;
@group(0) @binding(2) var<storage, read> w: array<W>;
@group(0) @binding(3) var<storage, read> acc: array<T>;
@group(0) @binding(4) var<storage, read_write> dx: array<T>;

var<workgroup> ta: array<f32, TILE * TILE>; // [row][n]
var<workgroup> tb: array<f32, TILE * TILE>; // [n][col]

@compute @workgroup_size(TILE, TILE)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row = wg.y * TILE + lid.y; // m
  let col = wg.x * TILE + lid.x; // k
  var s = 0.0;
  for (var n0 = 0u; n0 < p.Nout; n0 += TILE) {
    var a = 0.0;
    if (row < p.M && n0 + lid.x < p.Nout) { a = f32(dy[row * p.Nout + n0 + lid.x]); }
    var b = 0.0;
    if (col < p.K && n0 + lid.y < p.Nout) { b = f32(w[(n0 + lid.y) * p.K + col]); }
    ta[lid.y * TILE + lid.x] = a;
    tb[lid.y * TILE + lid.x] = b;
    workgroupBarrier();
    for (var j = 0u; j < TILE; j++) { s += ta[lid.y * TILE + j] * tb[j * TILE + lid.x]; }
    workgroupBarrier();
  }
  if (row < p.M && col < p.K) {
    if (p.has_acc != 0u) { s += f32(acc[row * p.K + col]); }
    dx[row * p.K + col] = T(s);
  }
}
