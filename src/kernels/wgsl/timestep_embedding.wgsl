// Sinusoidal timestep embedding (diffusers embeddings.get_timestep_embedding):
//   t: [N] f32, freqs: [half] f32 (computed on the CPU exactly as PyTorch does, in float32)
//   -> y: [N, dim] = cat(sin(arg), cos(arg)) (or cat(cos, sin) when flip), zero last column
//   for odd dim; arg = scale * (t * freq), rounded to f32 at each step as PyTorch does.
// The argument reaches ~1000 (t = 981, freq ~1). GPU sin/cos are only specified to ~2^-11
// absolute on [-pi, pi] and worse outside, so we range-reduce by pi/2 (Cody-Waite, 3 parts)
// and evaluate Taylor polynomials on [-pi/4, pi/4]: ~1e-7 absolute on every adapter.
// Reference: src/kernels/reference/timestep_embedding.ts
override WG: u32 = 64u;

struct Params { n: u32, dim: u32, half: u32, flip: u32, scale: f32, row_stride: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> t: array<f32>;
@group(0) @binding(2) var<storage, read> freqs: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<T>;

// (sin a, cos a) for |a| < ~1e5
fn sincos(a: f32) -> vec2<f32> {
  let k = round(a * 0.63661977236758134); // 2/pi
  // pi/2 = 1.5703125 (8 bits: k * it is exact) + 4.838267923e-4 + 2.563282919e-12
  let r = ((a - k * 1.5703125) - k * 4.838267923e-4) - k * 2.563282919e-12;
  let r2 = r * r;
  let s = r + r * r2 * (-1.0 / 6.0 + r2 * (1.0 / 120.0 + r2 * (-1.0 / 5040.0 + r2 * (1.0 / 362880.0))));
  let c = 1.0 + r2 * (-0.5 + r2 * (1.0 / 24.0 + r2 * (-1.0 / 720.0 + r2 * (1.0 / 40320.0 - r2 / 3628800.0))));
  switch (i32(k) & 3) { // quadrant (two's complement & 3 is k mod 4 for negative k too)
    case 0: { return vec2<f32>(s, c); }
    case 1: { return vec2<f32>(c, -s); }
    case 2: { return vec2<f32>(-s, -c); }
    default: { return vec2<f32>(-c, s); }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * p.row_stride + wg.x) * WG + li;
  if (i >= p.n) { return; }
  let row = i / p.dim;
  let j = i - row * p.dim;
  if (j >= 2u * p.half) { y[i] = T(0.0); return; } // odd dim: F.pad(emb, (0, 1))
  let second = j >= p.half;
  let k = select(j, j - p.half, second);
  let arg = p.scale * (t[row] * freqs[k]);
  let sc = sincos(arg);
  // first half is sin, second cos; flip_sin_to_cos swaps the halves
  let want_cos = second != (p.flip != 0u);
  y[i] = T(select(sc.x, sc.y, want_cos));
}
