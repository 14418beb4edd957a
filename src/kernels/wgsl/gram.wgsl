// Style Gram matrix, unnormalised: G[n] = F^T F with F = f[n, skip:, :] (skip = 1 drops CLS).
//   f [N, T, D] -> g [N, D, D]; workgroup grid (columns, rows, N).
// Register-blocked (R rows x 4 columns per invocation, no workgroup memory): rows = d,
// columns = e, contraction over tokens.
// Reference: src/kernels/reference/gram.ts
const RMAX = 8u;
override R: u32 = 8u;
override WG: u32 = 64u;

struct Params { T: u32, D: u32, skip: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> f: array<T>;
@group(0) @binding(2) var<storage, read_write> g: array<T>;

// f[n, skip + t .. skip + t + 3, c] (0 past the last token); base = (n * T + skip) * D
fn ld(base: u32, c: u32, t: u32) -> vec4f {
  let rows = p.T - p.skip;
  let ts = vec4u(t) + vec4u(0u, 1u, 2u, 3u);
  let i = base + min(ts, vec4u(rows - 1u)) * p.D + c;
  return select(vec4f(0.0), vec4f(f32(f[i.x]), f32(f[i.y]), f32(f[i.z]), f32(f[i.w])), ts < vec4u(rows));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let n = wg.z;
  let base = (n * p.T + p.skip) * p.D;
  let d0 = wg.y * R;
  let e0 = wg.x * WG * 4u + li;
  var cols: array<u32, 4>;
  for (var c = 0u; c < 4u; c++) { cols[c] = min(e0 + c * WG, p.D - 1u); }
  var s: array<vec4f, RMAX>;
  for (var t = 0u; t < p.T - p.skip; t += 4u) {
    let b0 = ld(base, cols[0], t);
    let b1 = ld(base, cols[1], t);
    let b2 = ld(base, cols[2], t);
    let b3 = ld(base, cols[3], t);
    for (var r = 0u; r < R; r++) {
      let v = ld(base, min(d0 + r, p.D - 1u), t);
      s[r] += vec4f(dot(v, b0), dot(v, b1), dot(v, b2), dot(v, b3));
    }
  }
  for (var r = 0u; r < R; r++) {
    let d = d0 + r;
    if (d >= p.D) { break; }
    for (var c = 0u; c < 4u; c++) {
      let e = e0 + c * WG;
      if (e < p.D) { g[(n * p.D + d) * p.D + e] = T(s[r][c]); }
    }
  }
}
