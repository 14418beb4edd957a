// GroupNorm (+ optional fused SiLU) for small groups: one subgroup per (n, group), statistics by
// subgroupAdd, no workgroup memory and no barriers (a barrier costs a coroutine switch per
// subgroup on lavapipe; the embedded UNet's groups are 64-512 values, where group_norm_vec4's
// tree reduction dominated). vec4 loads: needs H*W % 4 == 0.
//   x: [N, C, HW] -> y: [N, C, HW]; gamma, beta: [C]
// WG must not exceed the adapter's subgroupMinSize, so that a workgroup is one subgroup and
// subgroupAdd sums the whole workgroup. A workgroup normalises GPW groups one after the other.
// Values stay in registers (VMAX vec4 per invocation) when the group fits, else three passes
// over x as group_norm_vec4.wgsl. Two-pass f32 statistics: mean, then squared deviations.
// Reference: src/kernels/reference/group_norm.ts
enable subgroups;
override WG: u32 = 8u;   // invocations per workgroup, <= subgroupMinSize
override GPW: u32 = 1u;  // groups per workgroup
override SILU: u32 = 0u;
const VMAX = 16u;

struct Params { C: u32, HW: u32, groups: u32, eps: f32, rows: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<T>>;
@group(0) @binding(2) var<storage, read> gamma: array<W>;
@group(0) @binding(3) var<storage, read> beta: array<W>;
@group(0) @binding(4) var<storage, read_write> y: array<vec4<T>>;

fn out(i: u32, base: u32, c0: u32, hw4: u32, xv: vec4f, mean: f32, rstd: f32) {
  let c = c0 + i / hw4;
  var v = (xv - mean) * (rstd * f32(gamma[c])) + f32(beta[c]);
  if (SILU != 0u) { v = v / (1.0 + exp(-v)); }
  y[base + i] = vec4<T>(v);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let cpg = p.C / p.groups;
  let hw4 = p.HW / 4u;
  let len4 = cpg * hw4;
  let len = f32(4u * len4);
  let nper = (len4 + WG - 1u) / WG;
  for (var r = 0u; r < GPW; r++) {
    let row = (wg.y * 65535u + wg.x) * GPW + r; // n * groups + g
    if (row >= p.rows) { return; }             // uniform
    let base = row * len4;
    let c0 = (row % p.groups) * cpg;
    if (nper <= VMAX) {
      var v: array<vec4f, VMAX>;
      var s = vec4f(0.0);
      for (var j = 0u; j < nper; j++) {
        let i = li + j * WG;
        if (i < len4) { v[j] = vec4f(x[base + i]); } else { v[j] = vec4f(0.0); }
        s += v[j];
      }
      let mean = subgroupAdd(s.x + s.y + s.z + s.w) / len;
      var q = vec4f(0.0);
      for (var j = 0u; j < nper; j++) {
        let d = select(vec4f(0.0), v[j] - mean, li + j * WG < len4);
        q += d * d;
      }
      let rstd = inverseSqrt(subgroupAdd(q.x + q.y + q.z + q.w) / len + p.eps); // biased variance
      for (var j = 0u; j < nper; j++) {
        let i = li + j * WG;
        if (i < len4) { out(i, base, c0, hw4, v[j], mean, rstd); }
      }
    } else {
      var s = vec4f(0.0);
      for (var i = li; i < len4; i += WG) { s += vec4f(x[base + i]); }
      let mean = subgroupAdd(s.x + s.y + s.z + s.w) / len;
      var q = vec4f(0.0);
      for (var i = li; i < len4; i += WG) {
        let d = vec4f(x[base + i]) - mean;
        q += d * d;
      }
      let rstd = inverseSqrt(subgroupAdd(q.x + q.y + q.z + q.w) / len + p.eps);
      for (var i = li; i < len4; i += WG) { out(i, base, c0, hw4, vec4f(x[base + i]), mean, rstd); }
    }
  }
}
