// Input gradient of patch_embed (CLIPVisionEmbeddings) w.r.t. the pixels:
//   dy [N, T, D], w [D, C, p, p] -> dx [N, C, S, S]
//   dx[n, c, py*p + ky, px*p + kx] = sum_d dy[n, 1 + py*G + px, d] * w[d, (c*p + ky)*p + kx]
// The class row and the position embedding carry no pixel gradient. Patches do not overlap
// (stride == kernel), so this is a plain matmul whose output is scattered back to pixels; S must be
// a multiple of p. Tiled as linear_backward.wgsl: rows = (n, patch), columns = k, contraction over d.
// Reference: src/kernels/reference/patch_embed_backward.ts
override TILE: u32 = 16u;

struct Params { N: u32, C: u32, S: u32, ps: u32, D: u32, T: u32 } // ps: patch size
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<T>;
@group(0) @binding(2) var<storage, read> w: array<W>;
@group(0) @binding(3) var<storage, read_write> dx: array<T>;

var<workgroup> ta: array<f32, TILE * TILE>; // [row][d]
var<workgroup> tb: array<f32, TILE * TILE>; // [d][col]

@compute @workgroup_size(TILE, TILE)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let K = p.C * p.ps * p.ps;
  let P = p.T - 1u;
  let row = wg.y * TILE + lid.y; // n * P + patch
  let col = wg.x * TILE + lid.x; // k
  var s = 0.0;
  for (var d0 = 0u; d0 < p.D; d0 += TILE) {
    var a = 0.0;
    if (row < p.N * P && d0 + lid.x < p.D) {
      a = f32(dy[((row / P) * p.T + 1u + row % P) * p.D + d0 + lid.x]);
    }
    var b = 0.0;
    if (col < K && d0 + lid.y < p.D) { b = f32(w[(d0 + lid.y) * K + col]); }
    ta[lid.y * TILE + lid.x] = a;
    tb[lid.y * TILE + lid.x] = b;
    workgroupBarrier();
    for (var j = 0u; j < TILE; j++) { s += ta[lid.y * TILE + j] * tb[j * TILE + lid.x]; }
    workgroupBarrier();
  }
  if (row < p.N * P && col < K) {
    let G = p.S / p.ps;
    let n = row / P;
    let t = row % P;
    let c = col / (p.ps * p.ps);
    let ky = (col / p.ps) % p.ps;
    let kx = col % p.ps;
    dx[((n * p.C + c) * p.S + (t / G) * p.ps + ky) * p.S + (t % G) * p.ps + kx] = T(s);
  }
}
