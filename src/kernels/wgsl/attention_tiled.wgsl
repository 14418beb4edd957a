// Flash attention with workgroup-memory K/V tiles: the GPU layout, and the fallback for any D
// (scalar loads, so D need not be a multiple of 4) and for adapters without subgroups.
// q [B, Nq, heads*D], k/v [B, Nk, heads*D] -> o [B, Nq, heads*D]; D <= 4*D4, D4 <= DMAX4.
// One invocation owns one query row (q and the accumulator in registers, D4 vec4 each). The
// workgroup loads BK keys' K and V rows into workgroup memory together (consecutive invocations
// read consecutive channels: coalesced), then every invocation reads them at the same address
// (a broadcast, no bank conflicts). Online softmax per tile (running max m, sum l, one rescale
// of the accumulator per tile); the Nq x Nk scores never exist. f32 math whatever T is.
// Reference: src/kernels/reference/attention.ts
override WG: u32 = 64u;   // invocations = query rows per workgroup
override BK: u32 = 16u;   // keys per tile, <= BKMAX
override D4: u32 = 10u;   // ceil(D / 4): a constant, so the d loops unroll into registers
override KT: u32 = 160u;  // BK * D4: vec4 per tile
const DMAX4 = 128u;
const BKMAX = 64u;
const NEG = -1.0e30;      // finite "minus infinity": exp(NEG - m) == 0, never inf - inf = NaN

// q/k/v rows start at *_off + row * *_rs (elements): one fused QKV (or KV bank) buffer can be
// bound three times, each operand a column slice of it; o is dense [B, Nq, heads*D].
struct Params {
  Nq: u32, Nk: u32, heads: u32, D: u32, scale: f32, causal: u32,
  q_off: u32, q_rs: u32, k_off: u32, k_rs: u32, v_off: u32, v_rs: u32,
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<T>;
@group(0) @binding(2) var<storage, read> k: array<T>;
@group(0) @binding(3) var<storage, read> v: array<T>;
@group(0) @binding(4) var<storage, read_write> o: array<T>;
var<workgroup> kt: array<vec4f, KT>;
var<workgroup> vt: array<vec4f, KT>;

// Channels 4*c .. 4*c+3 of the row at `base`, zero past D (the zero lanes add nothing to dots).
fn ld_q(base: u32, c: u32) -> vec4f {
  var r = vec4f(0.0);
  for (var e = 0u; e < 4u; e++) { if (4u * c + e < p.D) { r[e] = f32(q[base + 4u * c + e]); } }
  return r;
}
fn ld_k(base: u32, c: u32) -> vec4f {
  var r = vec4f(0.0);
  for (var e = 0u; e < 4u; e++) { if (4u * c + e < p.D) { r[e] = f32(k[base + 4u * c + e]); } }
  return r;
}
fn ld_v(base: u32, c: u32) -> vec4f {
  var r = vec4f(0.0);
  for (var e = 0u; e < 4u; e++) { if (4u * c + e < p.D) { r[e] = f32(v[base + 4u * c + e]); } }
  return r;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let b = wg.y / p.heads;
  let h = wg.y % p.heads;
  let C = p.heads * p.D;
  let i = wg.x * WG + li;
  let ic = min(i, p.Nq - 1u);
  let qbase = p.q_off + (b * p.Nq + ic) * p.q_rs + h * p.D;
  let obase = (b * p.Nq + ic) * C + h * p.D;
  var qr: array<vec4f, DMAX4>;
  var acc: array<vec4f, DMAX4>;
  for (var c = 0u; c < D4; c++) { qr[c] = ld_q(qbase, c) * p.scale; acc[c] = vec4f(0.0); }
  var m = NEG;
  var l = 0.0;
  let last = select(p.Nk - 1u, min(ic, p.Nk - 1u), p.causal != 0u);
  // Workgroup-uniform key count: barriers need uniform control flow.
  var nk = p.Nk;
  if (p.causal != 0u) { nk = min(p.Nk, wg.x * WG + WG); }
  for (var j0 = 0u; j0 < nk; j0 += BK) {
    workgroupBarrier();  // the previous tile is consumed
    for (var e = li; e < KT; e += WG) {
      let row = b * p.Nk + min(j0 + e / D4, p.Nk - 1u);
      kt[e] = ld_k(p.k_off + row * p.k_rs + h * p.D, e % D4);
      vt[e] = ld_v(p.v_off + row * p.v_rs + h * p.D, e % D4);
    }
    workgroupBarrier();
    // (Explicit zeroing: Dawn on lavapipe did not re-zero loop-local `var`s per iteration.)
    var s: array<f32, BKMAX>;
    var mx = m;
    for (var jj = 0u; jj < BK; jj++) {
      var t = vec4f(0.0);
      for (var c = 0u; c < D4; c++) { t = fma(qr[c], kt[jj * D4 + c], t); }
      s[jj] = select(NEG, dot(t, vec4f(1.0)), j0 + jj <= last);
      mx = max(mx, s[jj]);
    }
    let corr = exp(m - mx);
    m = mx;
    var sum = 0.0;
    for (var jj = 0u; jj < BK; jj++) { s[jj] = exp(s[jj] - mx); sum += s[jj]; }
    l = l * corr + sum;
    for (var c = 0u; c < D4; c++) {
      var a = acc[c] * corr;
      for (var jj = 0u; jj < BK; jj++) { a = fma(vec4f(s[jj]), vt[jj * D4 + c], a); }
      acc[c] = a;
    }
  }
  if (i >= p.Nq) { return; }
  let inv = 1.0 / l;
  for (var c = 0u; c < D4; c++) {
    let r = acc[c] * inv;
    for (var e = 0u; e < 4u; e++) { if (4u * c + e < p.D) { o[obase + 4u * c + e] = T(r[e]); } }
  }
}
