// GEMM with workgroup-memory tiles (for GPUs). Same contract and strides as matmul_naive.wgsl.
// A workgroup computes a (TM*WG_Y) x (TN*WG_X) tile of y; BK-deep slices of A and B are staged
// in workgroup memory as f32 ([BK][BM] and [BK][BN], 8 KiB at the defaults) and each invocation
// accumulates TM x TN outputs. Rows m0 + ty + i*WG_Y and columns n0 + tx + j*WG_X are interleaved
// so that the tile reads are conflict-free broadcasts and the stores are contiguous across tx.
// Staging walks the operand's unit-stride dimension across consecutive invocations (coalesced
// reads for x [M, K], w [N, K] and for NCHW pixels alike).
// Reference: src/kernels/reference/matmul.ts
const TM = 4u;
const TN = 4u;
override WG_X: u32 = 16u;  // invocations along n (WG_X * WG_Y <= maxComputeInvocationsPerWorkgroup)
override WG_Y: u32 = 16u;  // invocations along m
override BK: u32 = 16u;    // k depth of a staged slice

struct Params {
  M: u32, N: u32, K: u32,
  a_off: u32, a_sb: u32, a_sm: u32, a_sk: u32,
  b_off: u32, b_sb: u32, b_sn: u32, b_sk: u32,
  y_off: u32, y_sb: u32, y_sm: u32, y_sn: u32,
  r_off: u32, bias_off: u32, alpha: f32, flags: u32,
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<T>;
@group(0) @binding(2) var<storage, read> b: array<W>;
@group(0) @binding(3) var<storage, read> bias: array<W>;
@group(0) @binding(4) var<storage, read> residual: array<T>;
@group(0) @binding(5) var<storage, read_write> y: array<T>;

var<workgroup> As: array<f32, BK * WG_Y * TM>;
var<workgroup> Bs: array<f32, BK * WG_X * TN>;

fn finish(bt: u32, m: u32, n: u32, acc: f32) {
  var v = p.alpha * acc;
  if ((p.flags & 1u) != 0u) { v += f32(bias[p.bias_off + n]); }
  let rel = bt * p.y_sb + m * p.y_sm + n * p.y_sn;
  if ((p.flags & 2u) != 0u) { v += f32(residual[p.r_off + rel]); }
  if ((p.flags & 4u) != 0u) { v += f32(y[p.y_off + rel]); }
  y[p.y_off + rel] = T(v);
}

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let BM = WG_Y * TM;
  let BN = WG_X * TN;
  let NT = WG_X * WG_Y;
  let bt = wg.z;
  let m0 = wg.y * BM;
  let n0 = wg.x * BN;
  let abase = p.a_off + bt * p.a_sb;
  let bbase = p.b_off + bt * p.b_sb;
  let a_rows_fast = p.a_sk != 1u;  // walk m fastest when k is not the unit stride
  let b_cols_fast = p.b_sk != 1u;
  var acc: array<vec4f, TM>;  // acc[i][j]
  for (var k0 = 0u; k0 < p.K; k0 += BK) {
    for (var e = li; e < BM * BK; e += NT) {
      let mm = select(e / BK, e % BM, a_rows_fast);
      let kk = select(e % BK, e / BM, a_rows_fast);
      let m = m0 + mm;
      let k = k0 + kk;
      var v = 0.0;
      if (m < p.M && k < p.K) { v = f32(a[abase + m * p.a_sm + k * p.a_sk]); }
      As[kk * BM + mm] = v;
    }
    for (var e = li; e < BN * BK; e += NT) {
      let nn = select(e / BK, e % BN, b_cols_fast);
      let kk = select(e % BK, e / BN, b_cols_fast);
      let n = n0 + nn;
      let k = k0 + kk;
      var v = 0.0;
      if (n < p.N && k < p.K) { v = f32(b[bbase + n * p.b_sn + k * p.b_sk]); }
      Bs[kk * BN + nn] = v;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      let ar = kk * BM + lid.y;
      let br = kk * BN + lid.x;
      let av = vec4f(As[ar], As[ar + WG_Y], As[ar + 2u * WG_Y], As[ar + 3u * WG_Y]);
      let bv = vec4f(Bs[br], Bs[br + WG_X], Bs[br + 2u * WG_X], Bs[br + 3u * WG_X]);
      for (var i = 0u; i < TM; i++) { acc[i] += av[i] * bv; }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < TM; i++) {
    let m = m0 + lid.y + i * WG_Y;
    for (var j = 0u; j < TN; j++) {
      let n = n0 + lid.x + j * WG_X;
      if (m < p.M && n < p.N) { finish(bt, m, n, acc[i][j]); }
    }
  }
}
