// GEMM, register-blocked, no workgroup memory and no subgroups (CPU adapters, and a candidate on
// any adapter). Same contract and strides as matmul_naive.wgsl.
// Each invocation owns R rows x 4 columns of y: rows m0..m0+R-1 are shared by the workgroup,
// columns n0 + c*WG (c < 4) are spread over its invocations, so stores are contiguous across
// invocations. k advances 4 at a time: per step R + 4 four-vectors are read for 16R FMAs. On
// lavapipe every buffer read is a per-lane scalar loop, so loads per FMA set the speed.
// Reference: src/kernels/reference/matmul.ts
const RMAX = 8u;          // private arrays need a constant size; R <= RMAX
override R: u32 = 4u;     // rows per invocation (8: 4x the compile time on lavapipe)
override WG: u32 = 64u;   // invocations per workgroup (along n)
override A4: bool = false; // A rows 4-aligned with unit k stride: read a4
override B4: bool = false; // same for B

struct Params {
  M: u32, N: u32, K: u32,
  a_off: u32, a_sb: u32, a_sm: u32, a_sk: u32,
  b_off: u32, b_sb: u32, b_sn: u32, b_sk: u32,
  y_off: u32, y_sb: u32, y_sm: u32, y_sn: u32,
  r_off: u32, bias_off: u32, alpha: f32, flags: u32,
}
@group(0) @binding(0) var<uniform> p: Params;
// a4 / b4 are the same buffers as a / b, viewed as 4-vectors: used when A4 / B4 (rows contiguous
// and 4-aligned). The scalar view serves everything else (transposes, odd K, 1x1-conv pixels).
@group(0) @binding(1) var<storage, read> a: array<T>;
@group(0) @binding(2) var<storage, read> a4: array<vec4<T>>;
@group(0) @binding(3) var<storage, read> b: array<W>;
@group(0) @binding(4) var<storage, read> b4: array<vec4<W>>;
@group(0) @binding(5) var<storage, read> bias: array<W>;
@group(0) @binding(6) var<storage, read> residual: array<T>;
@group(0) @binding(7) var<storage, read_write> y: array<T>;

// 4 consecutive k of one A row (B column) starting at k. Scalar path: k past K reads 0 (index
// clamped, so the loads stay in the binding and K need not be a multiple of 4).
fn ld_a(base: u32, k: u32) -> vec4f {
  if (A4) { return vec4f(a4[(base + k) / 4u]); }
  let ks = vec4u(k) + vec4u(0u, 1u, 2u, 3u);
  let i = vec4u(base) + min(ks, vec4u(p.K - 1u)) * p.a_sk;
  return select(vec4f(0.0), vec4f(f32(a[i.x]), f32(a[i.y]), f32(a[i.z]), f32(a[i.w])), ks < vec4u(p.K));
}
fn ld_b(base: u32, k: u32) -> vec4f {
  if (B4) { return vec4f(b4[(base + k) / 4u]); }
  let ks = vec4u(k) + vec4u(0u, 1u, 2u, 3u);
  let i = vec4u(base) + min(ks, vec4u(p.K - 1u)) * p.b_sk;
  return select(vec4f(0.0), vec4f(f32(b[i.x]), f32(b[i.y]), f32(b[i.z]), f32(b[i.w])), ks < vec4u(p.K));
}

fn finish(bt: u32, m: u32, n: u32, acc: f32) {
  var v = p.alpha * acc;
  if ((p.flags & 1u) != 0u) { v += f32(bias[p.bias_off + n]); }
  let rel = bt * p.y_sb + m * p.y_sm + n * p.y_sn;
  if ((p.flags & 2u) != 0u) { v += f32(residual[p.r_off + rel]); }
  if ((p.flags & 4u) != 0u) { v += f32(y[p.y_off + rel]); }
  y[p.y_off + rel] = T(v);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  // row blocks fold into y and z (M / R may exceed 65535, e.g. 1x1 convs at 512x512)
  let chunks = (p.M + R * 65535u - 1u) / (R * 65535u);
  let bt = wg.z / chunks;
  let m0 = ((wg.z % chunks) * 65535u + wg.y) * R;
  let n0 = wg.x * WG * 4u + li;
  // Out-of-range rows and columns are clamped for loading and skipped at the store.
  var arow: array<u32, RMAX>;
  for (var r = 0u; r < R; r++) { arow[r] = p.a_off + bt * p.a_sb + min(m0 + r, p.M - 1u) * p.a_sm; }
  var bcol: array<u32, 4>;
  for (var c = 0u; c < 4u; c++) { bcol[c] = p.b_off + bt * p.b_sb + min(n0 + c * WG, p.N - 1u) * p.b_sn; }
  var acc: array<vec4f, RMAX>;  // acc[r][c]
  for (var k = 0u; k < p.K; k += 4u) {
    let b0 = ld_b(bcol[0], k);
    let b1 = ld_b(bcol[1], k);
    let b2 = ld_b(bcol[2], k);
    let b3 = ld_b(bcol[3], k);
    for (var r = 0u; r < R; r++) {
      let v = ld_a(arow[r], k);
      acc[r] += vec4f(dot(v, b0), dot(v, b1), dot(v, b2), dot(v, b3));
    }
  }
  for (var r = 0u; r < R; r++) {
    let m = m0 + r;
    if (m >= p.M) { break; }
    for (var c = 0u; c < 4u; c++) {
      let n = n0 + c * WG;
      if (n < p.N) { finish(bt, m, n, acc[r][c]); }
    }
  }
}
