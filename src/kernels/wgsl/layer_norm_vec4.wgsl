// LayerNorm over the last dimension, as torch.nn.LayerNorm (biased variance); vec4 loads,
// C % 4 == 0 (every SD / CLIP width). Same team layout as layer_norm.wgsl.
//   x: [rows, C] -> y: [rows, C]; gamma, beta: [C]
// Two-pass f32 statistics (mean, then squared deviations); the row is re-read from cache.
// Reference: src/kernels/reference/layer_norm.ts
override WG: u32 = 128u;  // power of two, multiple of TEAM
override TEAM: u32 = 32u; // power of two

struct Params { rows: u32, C: u32, eps: f32, row_stride: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<T>>;
@group(0) @binding(2) var<storage, read> gamma: array<vec4<W>>;
@group(0) @binding(3) var<storage, read> beta: array<vec4<W>>;
@group(0) @binding(4) var<storage, read_write> y: array<vec4<T>>;

var<workgroup> red: array<f32, WG>;

// Copied from layer_norm.wgsl team_sum
fn team_sum(v: f32, li: u32) -> f32 {
  red[li] = v;
  workgroupBarrier();
  let lane = li % TEAM;
  for (var s = TEAM / 2u; s > 0u; s = s / 2u) {
    if (lane < s) { red[li] = red[li] + red[li + s]; }
    workgroupBarrier();
  }
  let r = red[li - lane];
  workgroupBarrier(); // red is reused by the next call
  return r;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let row = (wg.y * p.row_stride + wg.x) * (WG / TEAM) + li / TEAM;
  let lane = li % TEAM;
  let live = row < p.rows; // dead rows still take part in the barriers
  let c4 = p.C / 4u;
  let base = row * c4;

  var s = vec4<f32>(0.0);
  if (live) { for (var i = lane; i < c4; i += TEAM) { s += vec4<f32>(x[base + i]); } }
  let mean = team_sum(s.x + s.y + s.z + s.w, li) / f32(p.C);
  var q = vec4<f32>(0.0);
  if (live) {
    for (var i = lane; i < c4; i += TEAM) {
      let d = vec4<f32>(x[base + i]) - mean;
      q += d * d;
    }
  }
  let rstd = inverseSqrt(team_sum(q.x + q.y + q.z + q.w, li) / f32(p.C) + p.eps);
  if (live) {
    for (var i = lane; i < c4; i += TEAM) {
      y[base + i] = vec4<T>((vec4<f32>(x[base + i]) - mean) * rstd * vec4<f32>(gamma[i]) + vec4<f32>(beta[i]));
    }
  }
}
