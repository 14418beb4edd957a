// Input gradient of gram.wgsl (G = F^T F):
//   f [N, T, D], dg [N, D, D] -> df [N, T, D], df[t, d] = sum_e f[t, e] (dG[e, d] + dG[d, e]) for
//   t >= skip and 0 on the skipped (CLS) rows. dG need not be symmetric.
// Workgroup grid (columns, rows, N). Register-blocked (R rows x 4 columns per invocation, no
// workgroup memory): rows = t, columns = d, contraction over e.
// Reference: src/kernels/reference/gram_backward.ts
const RMAX = 8u;
override R: u32 = 8u;
override WG: u32 = 64u;

struct Params { T: u32, D: u32, skip: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> f: array<T>;
@group(0) @binding(2) var<storage, read> dg: array<T>;
@group(0) @binding(3) var<storage, read_write> df: array<T>;

// f[n, t, e..e+3] (0 past D)
fn ld_a(n: u32, t: u32, e: u32) -> vec4f {
  let es = vec4u(e) + vec4u(0u, 1u, 2u, 3u);
  let i = (n * p.T + t) * p.D + min(es, vec4u(p.D - 1u));
  return select(vec4f(0.0), vec4f(f32(f[i.x]), f32(f[i.y]), f32(f[i.z]), f32(f[i.w])), es < vec4u(p.D));
}
// (dG + dG^T)[e..e+3, d] (0 past D)
fn ld_b(n: u32, d: u32, e: u32) -> vec4f {
  let es = vec4u(e) + vec4u(0u, 1u, 2u, 3u);
  let ec = min(es, vec4u(p.D - 1u));
  let gb = n * p.D * p.D;
  let i = gb + ec * p.D + d;   // dG[e, d]
  let j = gb + d * p.D + ec;   // dG[d, e]
  let v = vec4f(f32(dg[i.x]) + f32(dg[j.x]), f32(dg[i.y]) + f32(dg[j.y]), f32(dg[i.z]) + f32(dg[j.z]), f32(dg[i.w]) + f32(dg[j.w]));
  return select(vec4f(0.0), v, es < vec4u(p.D));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let n = wg.z;
  let t0 = wg.y * R;
  let d0 = wg.x * WG * 4u + li;
  var cols: array<u32, 4>;
  for (var c = 0u; c < 4u; c++) { cols[c] = min(d0 + c * WG, p.D - 1u); }
  var s: array<vec4f, RMAX>;
  for (var e = 0u; e < p.D; e += 4u) {
    let b0 = ld_b(n, cols[0], e);
    let b1 = ld_b(n, cols[1], e);
    let b2 = ld_b(n, cols[2], e);
    let b3 = ld_b(n, cols[3], e);
    for (var r = 0u; r < R; r++) {
      let v = ld_a(n, min(t0 + r, p.T - 1u), e);
      s[r] += vec4f(dot(v, b0), dot(v, b1), dot(v, b2), dot(v, b3));
    }
  }
  for (var r = 0u; r < R; r++) {
    let t = t0 + r;
    if (t >= p.T) { break; }
    for (var c = 0u; c < 4u; c++) {
      let d = d0 + c * WG;
      if (d < p.D) { df[(n * p.T + t) * p.D + d] = T(select(0.0, s[r][c], t >= p.skip)); }
    }
  }
}
