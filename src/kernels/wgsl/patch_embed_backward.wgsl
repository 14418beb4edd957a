// Input gradient of patch_embed (CLIPVisionEmbeddings) w.r.t. the pixels:
//   dy [N, T, D], w [D, C, ps, ps] -> dx [N, C, S, S]
//   dx[n, c, py*ps + ky, px*ps + kx] = sum_d dy[n, 1 + py*G + px, d] * w[d, (c*ps + ky)*ps + kx]
// The class row and the position embedding carry no pixel gradient. Patches do not overlap
// (stride == kernel), so this is a plain matmul whose output is scattered back to pixels; S must be
// a multiple of ps. Register-blocked (R rows x 4 columns per invocation, no workgroup memory):
// rows = (n, patch), columns = k, contraction over d.
// Reference: src/kernels/reference/patch_embed_backward.ts
const RMAX = 8u;
override R: u32 = 8u;
override WG: u32 = 64u;

struct Params { N: u32, C: u32, S: u32, ps: u32, D: u32, T: u32 } // ps: patch size
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<T>;
@group(0) @binding(2) var<storage, read> w: array<W>;
@group(0) @binding(3) var<storage, read_write> dx: array<T>;

// dy[n, 1 + patch, d..d+3] of patch row m = n * (T - 1) + patch (0 past D)
fn ld_a(m: u32, d: u32) -> vec4f {
  let P = p.T - 1u;
  let ds = vec4u(d) + vec4u(0u, 1u, 2u, 3u);
  let i = ((m / P) * p.T + 1u + m % P) * p.D + min(ds, vec4u(p.D - 1u));
  return select(vec4f(0.0), vec4f(f32(dy[i.x]), f32(dy[i.y]), f32(dy[i.z]), f32(dy[i.w])), ds < vec4u(p.D));
}
// w[d..d+3, k] (0 past D)
fn ld_b(k: u32, d: u32) -> vec4f {
  let K = p.C * p.ps * p.ps;
  let ds = vec4u(d) + vec4u(0u, 1u, 2u, 3u);
  let i = min(ds, vec4u(p.D - 1u)) * K + k;
  return select(vec4f(0.0), vec4f(f32(w[i.x]), f32(w[i.y]), f32(w[i.z]), f32(w[i.w])), ds < vec4u(p.D));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let K = p.C * p.ps * p.ps;
  let P = p.T - 1u;
  let rows = p.N * P;
  let m0 = wg.y * R;
  let k0 = wg.x * WG * 4u + li;
  var cols: array<u32, 4>;
  for (var c = 0u; c < 4u; c++) { cols[c] = min(k0 + c * WG, K - 1u); }
  var s: array<vec4f, RMAX>;
  for (var d = 0u; d < p.D; d += 4u) {
    let b0 = ld_b(cols[0], d);
    let b1 = ld_b(cols[1], d);
    let b2 = ld_b(cols[2], d);
    let b3 = ld_b(cols[3], d);
    for (var r = 0u; r < R; r++) {
      let v = ld_a(min(m0 + r, rows - 1u), d);
      s[r] += vec4f(dot(v, b0), dot(v, b1), dot(v, b2), dot(v, b3));
    }
  }
  let G = p.S / p.ps;
  for (var r = 0u; r < R; r++) {
    let m = m0 + r;
    if (m >= rows) { break; }
    let t = m % P;
    for (var c = 0u; c < 4u; c++) {
      let k = k0 + c * WG;
      if (k < K) {
        let ch = k / (p.ps * p.ps);
        let ky = (k / p.ps) % p.ps;
        let kx = k % p.ps;
        dx[(((m / P) * p.C + ch) * p.S + (t / G) * p.ps + ky) * p.S + (t % G) * p.ps + kx] = T(s[r][c]);
      }
    }
  }
}
