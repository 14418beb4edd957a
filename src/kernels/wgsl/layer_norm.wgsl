// LayerNorm over the last dimension, as torch.nn.LayerNorm (biased variance); scalar loads,
// for any C (layer_norm_vec4.wgsl is this with vec4 loads, for C % 4 == 0).
//   x: [rows, C] -> y: [rows, C]; gamma, beta: [C]. C is 320..1280 in the UNet, 768 in CLIP.
// A team of TEAM invocations normalises one row; a workgroup holds WG/TEAM rows. Rows are short,
// so one row per workgroup wastes most of a GPU workgroup, and on lavapipe the per-workgroup
// cost dominates ([2,4096,320]: 8192 workgroups ~4x slower than teams of 4).
// Two-pass f32 statistics (mean, then squared deviations); the row is re-read from cache.
// Reference: src/kernels/reference/layer_norm.ts
override WG: u32 = 128u;  // power of two, multiple of TEAM
override TEAM: u32 = 32u; // power of two

struct Params { rows: u32, C: u32, eps: f32, row_stride: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> gamma: array<W>;
@group(0) @binding(3) var<storage, read> beta: array<W>;
@group(0) @binding(4) var<storage, read_write> y: array<T>;

var<workgroup> red: array<f32, WG>;

// Sum of v over the invocation's team (every member gets it). Call in uniform control flow.
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
  // 2-D grid (row_stride workgroups per grid row) so rows / (WG/TEAM) may exceed 65535
  let row = (wg.y * p.row_stride + wg.x) * (WG / TEAM) + li / TEAM;
  let lane = li % TEAM;
  let live = row < p.rows; // dead rows still take part in the barriers
  let base = row * p.C;

  var s = 0.0;
  if (live) { for (var i = lane; i < p.C; i += TEAM) { s += f32(x[base + i]); } }
  let mean = team_sum(s, li) / f32(p.C);
  var q = 0.0;
  if (live) {
    for (var i = lane; i < p.C; i += TEAM) {
      let d = f32(x[base + i]) - mean;
      q += d * d;
    }
  }
  let rstd = inverseSqrt(team_sum(q, li) / f32(p.C) + p.eps);
  if (live) {
    for (var i = lane; i < p.C; i += TEAM) {
      y[base + i] = T((f32(x[base + i]) - mean) * rstd * f32(gamma[i]) + f32(beta[i]));
    }
  }
}
