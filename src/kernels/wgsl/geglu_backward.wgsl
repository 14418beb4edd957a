// Input gradient of GEGLU (geglu.wgsl): x [rows, 2F] holds [h, g] halves, y = h * gelu(g) [rows, F]
//   dh = dy * gelu(g),  dg = dy * h * gelu'(g),  gelu'(g) = Phi(g) + g * phi(g)
// (exact erf gelu; Phi the normal CDF, phi its density). One invocation per dy value writes both
// halves of dx [rows, 2F]; f32 math.
// Reference: src/kernels/reference/geglu_backward.ts
override WG: u32 = 256u;

struct Params { n: u32, F: u32, row_stride: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> dy: array<T>;
@group(0) @binding(3) var<storage, read_write> dx: array<T>;

// Copied from elementwise.wgsl erf_approx
// erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): WGSL has no erf builtin.
fn erf_approx(x: f32) -> f32 {
  let t = 1.0 / (1.0 + 0.3275911 * abs(x));
  let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return sign(x) * (1.0 - poly * exp(-x * x));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * p.row_stride + wg.x) * WG + li;
  if (i >= p.n) { return; }
  let r = i / p.F;
  let c = i - r * p.F;
  let hi = r * 2u * p.F + c;
  let h = f32(x[hi]);
  let g = f32(x[hi + p.F]);
  let d = f32(dy[i]);
  let cdf = 0.5 * (1.0 + erf_approx(g * 0.7071067811865476));
  let pdf = 0.3989422804014327 * exp(-0.5 * g * g);  // 1/sqrt(2 pi)
  dx[hi] = T(d * g * cdf);
  dx[hi + p.F] = T(d * h * (cdf + g * pdf));
}
