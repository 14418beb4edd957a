// GEMM with subgroup shuffles (the CPU adapters' best: lavapipe, SwiftShader). Same contract and
// strides as matmul_naive.wgsl.
// Each invocation owns R rows x 4 columns of y (rows shared by the workgroup, columns n0 + c*WG).
// All lanes need the same A rows, so A is loaded once per subgroup: lane l reads the 4-wide k
// chunk kc + l of every row, and in step s every lane takes chunk kc + s from lane s by
// subgroupShuffle. On lavapipe a buffer read is a per-lane scalar loop while a shuffle is one
// vector permute, so this removes (sg-1)/sg of A's loads; B (one column per lane) is read
// directly. The subgroup size is read from the builtin, never assumed (any size >= 1 works:
// a chunk has as many steps as the subgroup has lanes).
// Reference: src/kernels/reference/matmul.ts
enable subgroups;
const RMAX = 8u;          // private arrays need a constant size; R <= RMAX
override R: u32 = 8u;     // rows per invocation (16 runs ~20% faster on lavapipe but compiles 40x slower)
override WG: u32 = 64u;   // invocations per workgroup (along n)
override A4: bool = false; // A rows 4-aligned with unit k stride: read a4
override B4: bool = false; // same for B

struct Params {
  M: u32, N: u32, K: u32,
  a_off: u32, a_sb: u32, a_sm: u32, a_sk: u32,
  b_off: u32, b_sb: u32, b_sn: u32, b_sk: u32,
  y_off: u32, y_sb: u32, y_sm: u32, y_sn: u32,
  r_off: u32, bias_off: u32, alpha: f32, flags: u32,
  gate: u32, ln_eps: f32,  // GEGLU: gate rows of B start at row `gate`; LayerNorm eps
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
@group(0) @binding(8) var<storage, read> ln_g: array<W>;
@group(0) @binding(9) var<storage, read> ln_b: array<W>;

// 4 consecutive k starting at k. Scalar path: k past K reads 0 (index clamped: loads stay in
// the binding, K need not be a multiple of 4).
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
  // 32: SiLU of (alpha * acc + bias) (the time-embedding MLP's activations), before residual / accumulate
  if ((p.flags & 32u) != 0u) { v = v / (1.0 + exp(-v)); }
  let rel = bt * p.y_sb + m * p.y_sm + n * p.y_sn;
  if ((p.flags & 2u) != 0u) { v += f32(residual[p.r_off + rel]); }
  if ((p.flags & 4u) != 0u) { v += f32(y[p.y_off + rel]); }
  y[p.y_off + rel] = T(v);
}

// Copied from elementwise.wgsl erf_approx
// erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): WGSL has no erf builtin.
fn erf_approx(x: f32) -> f32 {
  let t = 1.0 / (1.0 + 0.3275911 * abs(x));
  let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return sign(x) * (1.0 - poly * exp(-x * x));
}

// Copied from matmul_naive.wgsl finish_geglu
// flag 16 (GEGLU, diffusers' FeedForward net.0): output column n is h * gelu(g) with h from B row
// n and g from B row gate + n, both already accumulated by this invocation (no [rows, 2C] buffer).
fn finish_geglu(bt: u32, m: u32, n: u32, ah: f32, ag: f32) {
  var h = p.alpha * ah;
  var g = p.alpha * ag;
  if ((p.flags & 1u) != 0u) { h += f32(bias[p.bias_off + n]); g += f32(bias[p.bias_off + p.gate + n]); }
  var v = h * 0.5 * g * (1.0 + erf_approx(g * 0.7071067811865476));
  let rel = bt * p.y_sb + m * p.y_sm + n * p.y_sn;
  if ((p.flags & 2u) != 0u) { v += f32(residual[p.r_off + rel]); }
  if ((p.flags & 4u) != 0u) { v += f32(y[p.y_off + rel]); }
  y[p.y_off + rel] = T(v);
}

// Copied from matmul_naive.wgsl ln_stats
// flag 8 (LayerNorm prologue): A rows are normalised on load, (a - mean) * rstd * ln_g + ln_b,
// from statistics this kernel computes itself (shifted by the row's first value, so a large mean
// does not cancel the variance): the LayerNorm before a transformer block's GEMMs costs no pass.
fn ln_stats(s: f32, ss: f32, shift: f32) -> vec2f {
  let K = f32(p.K);
  let mu = s / K;
  return vec2f(shift + mu, inverseSqrt(max(ss / K - mu * mu, 0.0) + p.ln_eps));
}

// Copied from matmul_regblock.wgsl ln_g4
// Copied from matmul_regblock.wgsl ln_b4
fn ln_g4(k: u32) -> vec4f { return vec4f(f32(ln_g[k]), f32(ln_g[k + 1u]), f32(ln_g[k + 2u]), f32(ln_g[k + 3u])); }
fn ln_b4(k: u32) -> vec4f { return vec4f(f32(ln_b[k]), f32(ln_b[k + 1u]), f32(ln_b[k + 2u]), f32(ln_b[k + 3u])); }

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32,
        @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) sg: u32) {
  // row blocks fold into y and z (M / R may exceed 65535, e.g. 1x1 convs at 512x512)
  let chunks = (p.M + R * 65535u - 1u) / (R * 65535u);
  let bt = wg.z / chunks;
  let m0 = ((wg.z % chunks) * 65535u + wg.y) * R;
  // GEGLU: 2 output columns per invocation, each with its h and gate accumulators (c, c + 2)
  let geglu = (p.flags & 16u) != 0u;
  let n0 = wg.x * WG * select(4u, 2u, geglu) + li;
  var arow: array<u32, RMAX>;
  for (var r = 0u; r < R; r++) { arow[r] = p.a_off + bt * p.a_sb + min(m0 + r, p.M - 1u) * p.a_sm; }
  var bcol: array<u32, 4>;
  for (var c = 0u; c < 4u; c++) {
    var col = min(n0 + c * WG, p.N - 1u);
    if (geglu) { col = min(n0 + (c % 2u) * WG, p.N - 1u) + select(0u, p.gate, c >= 2u); }
    bcol[c] = p.b_off + bt * p.b_sb + col * p.b_sn;
  }
  let K4 = (p.K + 3u) / 4u;
  let ln = (p.flags & 8u) != 0u;  // needs K % 4 == 0 and unit k stride (the wrapper checks)
  var st: array<vec2f, RMAX>;
  if (ln) {
    // each lane sums its chunks, the subgroup adds the lanes (all lanes share the rows)
    for (var r = 0u; r < R; r++) {
      let sh = f32(a[arow[r]]);
      var s = vec4f(0.0);
      var ss = vec4f(0.0);
      for (var kc = 0u; kc < K4; kc += sg) {  // uniform bounds: subgroupAdd below needs uniform control flow
        if (kc + lane < K4) { let d = ld_a(arow[r], 4u * (kc + lane)) - vec4f(sh); s += d; ss += d * d; }
      }
      st[r] = ln_stats(subgroupAdd(dot(s, vec4f(1.0))), subgroupAdd(dot(ss, vec4f(1.0))), sh);
    }
  }
  var acc: array<vec4f, RMAX>;  // acc[r][c]
  // Every invocation runs every shuffle (no early exit above), as subgroupShuffle requires.
  for (var kc = 0u; kc < K4; kc += sg) {
    var av: array<vec4f, RMAX>;
    let kl = 4u * min(kc + lane, K4 - 1u);
    var g4 = vec4f(1.0);
    var be4 = vec4f(0.0);
    if (ln) { g4 = ln_g4(kl); be4 = ln_b4(kl); }
    for (var r = 0u; r < R; r++) {
      av[r] = ld_a(arow[r], 4u * (kc + lane));
      if (ln) { av[r] = (av[r] - vec4f(st[r].x)) * st[r].y * g4 + be4; }
    }
    let steps = min(sg, K4 - kc);
    for (var s = 0u; s < steps; s++) {
      let k = 4u * (kc + s);
      let b0 = ld_b(bcol[0], k);
      let b1 = ld_b(bcol[1], k);
      let b2 = ld_b(bcol[2], k);
      let b3 = ld_b(bcol[3], k);
      for (var r = 0u; r < R; r++) {
        let v = subgroupShuffle(av[r], s);
        acc[r] += vec4f(dot(v, b0), dot(v, b1), dot(v, b2), dot(v, b3));
      }
    }
  }
  for (var r = 0u; r < R; r++) {
    let m = m0 + r;
    if (m >= p.M) { break; }
    if (geglu) {
      for (var c = 0u; c < 2u; c++) {
        let n = n0 + c * WG;
        if (n < p.N) { finish_geglu(bt, m, n, acc[r][c], acc[r][c + 2u]); }
      }
      continue;
    }
    for (var c = 0u; c < 4u; c++) {
      let n = n0 + c * WG;
      if (n < p.N) { finish(bt, m, n, acc[r][c]); }
    }
  }
}
