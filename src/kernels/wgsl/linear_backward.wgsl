// Input gradient of torch.nn.Linear (y = x W^T + b):  dx = dy W (+ acc)
//   dy [M, Nout] (T), w [Nout, K] (W, the checkpoint layout, read as is), acc [M, K] (T, when
//   has_acc: the gradient already reaching x along a residual branch or another projection)
//   -> dx [M, K]
// Register-blocked, no workgroup memory (barriers are what software adapters pay most for; GPUs
// are fine with it too): each invocation owns R rows x 4 columns of dx, rows m0.. shared by the
// workgroup, columns k0 + c * WG spread over its invocations so stores are contiguous. The
// contraction over Nout advances 4 at a time: R + 4 four-vectors read per 16 R FMAs; reads past
// the end are clamped into the binding and masked to 0. f32 accumulation.
// Reference: src/kernels/reference/linear_backward.ts
const RMAX = 8u;          // private arrays need a constant size; R <= RMAX
override R: u32 = 8u;     // rows per invocation
override WG: u32 = 64u;   // invocations per workgroup (along k)

struct Params { M: u32, K: u32, Nout: u32, has_acc: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<T>;
@group(0) @binding(2) var<storage, read> w: array<W>;
@group(0) @binding(3) var<storage, read> acc: array<T>;
@group(0) @binding(4) var<storage, read_write> dx: array<T>;

// dy[m, j..j+3] (0 past Nout)
fn ld_a(m: u32, j: u32) -> vec4f {
  let js = vec4u(j) + vec4u(0u, 1u, 2u, 3u);
  let i = m * p.Nout + min(js, vec4u(p.Nout - 1u));
  return select(vec4f(0.0), vec4f(f32(dy[i.x]), f32(dy[i.y]), f32(dy[i.z]), f32(dy[i.w])), js < vec4u(p.Nout));
}
// w[j..j+3, k] (0 past Nout)
fn ld_b(k: u32, j: u32) -> vec4f {
  let js = vec4u(j) + vec4u(0u, 1u, 2u, 3u);
  let i = min(js, vec4u(p.Nout - 1u)) * p.K + k;
  return select(vec4f(0.0), vec4f(f32(w[i.x]), f32(w[i.y]), f32(w[i.z]), f32(w[i.w])), js < vec4u(p.Nout));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let m0 = wg.y * R;
  let k0 = wg.x * WG * 4u + li;
  var cols: array<u32, 4>;
  for (var c = 0u; c < 4u; c++) { cols[c] = min(k0 + c * WG, p.K - 1u); }
  var s: array<vec4f, RMAX>; // s[r][c]
  for (var j = 0u; j < p.Nout; j += 4u) {
    let b0 = ld_b(cols[0], j);
    let b1 = ld_b(cols[1], j);
    let b2 = ld_b(cols[2], j);
    let b3 = ld_b(cols[3], j);
    for (var r = 0u; r < R; r++) {
      let v = ld_a(min(m0 + r, p.M - 1u), j);
      s[r] += vec4f(dot(v, b0), dot(v, b1), dot(v, b2), dot(v, b3));
    }
  }
  for (var r = 0u; r < R; r++) {
    let m = m0 + r;
    if (m >= p.M) { break; }
    for (var c = 0u; c < 4u; c++) {
      let k = k0 + c * WG;
      if (k < p.K) {
        var v = s[r][c];
        if (p.has_acc != 0u) { v += f32(acc[m * p.K + k]); }
        dx[m * p.K + k] = T(v);
      }
    }
  }
}
