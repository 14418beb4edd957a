// Elementwise ops with broadcasting of the second operand:
//   y[i] = OP(a[i], b[(i / b_div) % b_mod])
// b_div/b_mod express the broadcasts the models need: same shape (1, n), per-(sample, channel)
// bias over NCHW (H*W, N*C), per-channel bias (H*W, C), scalar (n, 1).
// OP is an override constant, so each op compiles to its own straight-line shader.
// Reference: src/kernels/reference/elementwise.ts
override OP: u32 = 0u; // 0 add, 1 mul, 2 axpby, 3 scale, 4 silu, 5 gelu (erf), 6 quick_gelu, 7 sub, 8 clamp
override WG: u32 = 256u;

struct Params { n: u32, b_div: u32, b_mod: u32, alpha: f32, beta: f32, row_stride: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<T>;
@group(0) @binding(2) var<storage, read> b: array<T>;
@group(0) @binding(3) var<storage, read_write> y: array<T>;

// erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): WGSL has no erf builtin.
fn erf_approx(x: f32) -> f32 {
  let t = 1.0 / (1.0 + 0.3275911 * abs(x));
  let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return sign(x) * (1.0 - poly * exp(-x * x));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  // 2-D grid: row_stride workgroups per row, so n may exceed 65535 * WG.
  let i = (wg.y * p.row_stride + wg.x) * WG + li;
  if (i >= p.n) { return; }
  let x = f32(a[i]);
  let v = f32(b[(i / p.b_div) % p.b_mod]);
  var r: f32;
  switch OP {
    case 0u: { r = x + v; }
    case 1u: { r = x * v; }
    case 2u: { r = p.alpha * x + p.beta * v; }
    case 3u: { r = p.alpha * x + p.beta; }
    case 4u: { r = x / (1.0 + exp(-x)); }
    case 5u: { r = 0.5 * x * (1.0 + erf_approx(x * 0.7071067811865476)); }
    case 6u: { r = x / (1.0 + exp(-1.702 * x)); }
    case 8u: { r = clamp(x, p.alpha, p.beta); }
    default: { r = x - v; }
  }
  y[i] = T(r);
}
