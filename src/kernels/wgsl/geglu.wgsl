// GEGLU (diffusers attention.GEGLU after its Linear): the last dim holds [h, g] halves,
//   x: [rows, 2C] -> y: [rows, C] = h * gelu(g), gelu in the exact erf form (approximate="none").
// One invocation per output value; f32 math.
// Reference: src/kernels/reference/geglu.ts
override WG: u32 = 256u;

struct Params { n: u32, C: u32, row_stride: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> y: array<T>;

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
  let r = i / p.C;
  let c = i - r * p.C;
  let h = f32(x[r * 2u * p.C + c]);
  let g = f32(x[r * 2u * p.C + p.C + c]);
  y[i] = T(h * 0.5 * g * (1.0 + erf_approx(g * 0.7071067811865476)));
}
