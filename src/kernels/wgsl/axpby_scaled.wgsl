// y[i] = alpha * a[i] + beta * b[i] * inv(s[n]),  n = i / per_sample,  inv(v) = 1/v, or 0 when v == 0
// (with MULTIPLY: y[i] = alpha * a[i] + beta * b[i] * s[n], e.g. dividing by delta = h / s)
// The sampler's normalised updates: delta = h / max|d| and g = diff / max|diff| keep their
// per-sample infinity norms s[n] on the GPU, so a whole diffusion step records without readbacks.
// A zero norm means a zero direction (e.g. nothing known to inpaint): the term is dropped rather
// than turning 0 * inf into NaN. A NaN norm propagates.
// Reference: src/kernels/reference/axpby_scaled.ts
override WG: u32 = 256u;
override MULTIPLY: bool = false;

struct Params { n: u32, per_sample: u32, alpha: f32, beta: f32, row_stride: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<T>;
@group(0) @binding(2) var<storage, read> b: array<T>;
@group(0) @binding(3) var<storage, read> s: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<T>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * p.row_stride + wg.x) * WG + li;
  if (i >= p.n) { return; }
  let norm = s[i / p.per_sample];
  var term = 0.0;
  if (MULTIPLY) { term = p.beta * f32(b[i]) * norm; }
  else if (norm != 0.0) { term = p.beta * f32(b[i]) / norm; }
  y[i] = T(p.alpha * f32(a[i]) + term);
}
