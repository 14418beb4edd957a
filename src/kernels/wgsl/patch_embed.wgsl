// transformers' CLIPVisionEmbeddings in one kernel: patch conv (stride = kernel = ps, no bias) as a
// matmul over non-overlapping patches, the class token, and the position embedding:
//   x [N, C, S, S] (pixel_values), w [D, C, ps, ps], cls [D], pos [T, D] -> y [N, T, D]
//   y[n, 0]     = cls + pos[0]
//   y[n, 1 + t] = sum_k w[d, k] patch_t[k] + pos[1 + t],  k = (c * ps + ky) * ps + kx,
// with patch t at (t / G, t % G), G = S / ps, T = 1 + G^2 (CLIP ViT-B/16: 224 / 16 -> 197 tokens).
// Register-blocked (R rows x 4 columns per invocation, no workgroup memory: barriers are what
// software adapters pay most for): rows = (n, token), columns = d, contraction over k;
// class rows contract against zeros.
// Reference: src/kernels/reference/patch_embed.ts
const RMAX = 8u;
override R: u32 = 8u;
override WG: u32 = 64u;

struct Params { N: u32, C: u32, S: u32, ps: u32, D: u32, T: u32 } // ps: patch size
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> w: array<W>;
@group(0) @binding(3) var<storage, read> cls: array<W>;
@group(0) @binding(4) var<storage, read> pos: array<W>;
@group(0) @binding(5) var<storage, read_write> y: array<T>;

// pixel k of the patch under token row m (0 for class rows and past K)
fn pixel(m: u32, k: u32) -> f32 {
  let K = p.C * p.ps * p.ps;
  let t = m % p.T;
  if (t == 0u || k >= K) { return 0.0; }
  let G = p.S / p.ps;
  let c = k / (p.ps * p.ps);
  let ky = (k / p.ps) % p.ps;
  let kx = k % p.ps;
  return f32(x[(((m / p.T) * p.C + c) * p.S + ((t - 1u) / G) * p.ps + ky) * p.S + ((t - 1u) % G) * p.ps + kx]);
}
fn ld_a(m: u32, k: u32) -> vec4f {
  return vec4f(pixel(m, k), pixel(m, k + 1u), pixel(m, k + 2u), pixel(m, k + 3u));
}
// w[d, k..k+3] (0 past K)
fn ld_b(d: u32, k: u32) -> vec4f {
  let K = p.C * p.ps * p.ps;
  let ks = vec4u(k) + vec4u(0u, 1u, 2u, 3u);
  let i = d * K + min(ks, vec4u(K - 1u));
  return select(vec4f(0.0), vec4f(f32(w[i.x]), f32(w[i.y]), f32(w[i.z]), f32(w[i.w])), ks < vec4u(K));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let K = p.C * p.ps * p.ps;
  let rows = p.N * p.T;
  let m0 = wg.y * R;
  let d0 = wg.x * WG * 4u + li;
  var cols: array<u32, 4>;
  for (var c = 0u; c < 4u; c++) { cols[c] = min(d0 + c * WG, p.D - 1u); }
  var s: array<vec4f, RMAX>;
  for (var k = 0u; k < K; k += 4u) {
    let b0 = ld_b(cols[0], k);
    let b1 = ld_b(cols[1], k);
    let b2 = ld_b(cols[2], k);
    let b3 = ld_b(cols[3], k);
    for (var r = 0u; r < R; r++) {
      let v = ld_a(min(m0 + r, rows - 1u), k);
      s[r] += vec4f(dot(v, b0), dot(v, b1), dot(v, b2), dot(v, b3));
    }
  }
  for (var r = 0u; r < R; r++) {
    let m = m0 + r;
    if (m >= rows) { break; }
    let t = m % p.T;
    for (var c = 0u; c < 4u; c++) {
      let d = d0 + c * WG;
      if (d < p.D) {
        var v = s[r][c];
        if (t == 0u) { v = f32(cls[d]); }
        y[m * p.D + d] = T(v + f32(pos[t * p.D + d]));
      }
    }
  }
}
