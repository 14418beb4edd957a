// transformers' CLIPVisionEmbeddings in one kernel: patch conv (stride = kernel = p, no bias) as a
// matmul over non-overlapping patches, the class token, and the position embedding:
//   x [N, C, S, S] (pixel_values), w [D, C, p, p], cls [D], pos [T, D] -> y [N, T, D]
//   y[n, 0]     = cls + pos[0]
//   y[n, 1 + t] = sum_k w[d, k] patch_t[k] + pos[1 + t],  k = (c * p + ky) * p + kx,
// with patch t at (t / G, t % G), G = S / p, T = 1 + G^2 (CLIP ViT-B/16: 224 / 16 -> 197 tokens).
// Tiled as linear_backward.wgsl: rows = (n, token), columns = d, contraction over k; class rows
// contract against zeros so every invocation reaches the barriers.
// Reference: src/kernels/reference/patch_embed.ts
override TILE: u32 = 16u;

struct Params { N: u32, C: u32, S: u32, ps: u32, D: u32, T: u32 } // ps: patch size
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> w: array<W>;
@group(0) @binding(3) var<storage, read> cls: array<W>;
@group(0) @binding(4) var<storage, read> pos: array<W>;
@group(0) @binding(5) var<storage, read_write> y: array<T>;

var<workgroup> ta: array<f32, TILE * TILE>; // [row][k]
var<workgroup> tb: array<f32, TILE * TILE>; // [k][col]

// pixel k of the patch under token row m (0 for class rows and outside the matrix)
fn patch_value(m: u32, k: u32) -> f32 {
  let K = p.C * p.ps * p.ps;
  let t = m % p.T;
  if (m >= p.N * p.T || t == 0u || k >= K) { return 0.0; }
  let G = p.S / p.ps;
  let n = m / p.T;
  let c = k / (p.ps * p.ps);
  let ky = (k / p.ps) % p.ps;
  let kx = k % p.ps;
  let py = (t - 1u) / G;
  let px = (t - 1u) % G;
  return f32(x[((n * p.C + c) * p.S + py * p.ps + ky) * p.S + px * p.ps + kx]);
}

@compute @workgroup_size(TILE, TILE)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let K = p.C * p.ps * p.ps;
  let row = wg.y * TILE + lid.y; // n * T + t
  let col = wg.x * TILE + lid.x; // d
  var s = 0.0;
  for (var k0 = 0u; k0 < K; k0 += TILE) {
    ta[lid.y * TILE + lid.x] = patch_value(row, k0 + lid.x);
    // w is [D, K]: invocations along x read consecutive k of one weight row (coalesced), stored transposed
    let d = wg.x * TILE + lid.y;
    var b = 0.0;
    if (d < p.D && k0 + lid.x < K) { b = f32(w[d * K + k0 + lid.x]); }
    tb[lid.x * TILE + lid.y] = b;
    workgroupBarrier();
    for (var j = 0u; j < TILE; j++) { s += ta[lid.y * TILE + j] * tb[j * TILE + lid.x]; }
    workgroupBarrier();
  }
  if (row < p.N * p.T && col < p.D) {
    let t = row % p.T;
    if (t == 0u) { s = f32(cls[col]); }
    y[row * p.D + col] = T(s + f32(pos[t * p.D + col]));
  }
}
