// Input gradient of GroupNorm (+ fused SiLU), group_norm.ts's forward: d/dx of silu?(gn(x)) for
// the UNet VJP (resnet norm1/norm2 with SiLU, the transformer's norm and conv_norm_out). One
// workgroup per (n, group) streams the group four times (mean, variance, the two gradient sums,
// the write); statistics are recomputed from x, so nothing but x is saved from the forward.
// Missing for real GPUs at [N, 320, 64, 64]: a split variant (chunk partial sums then apply, as
// group_norm_stats/apply do for the forward); N*32 workgroups leave a large GPU partly idle.
// Reference: src/kernels/reference/group_norm_backward.ts (checked against finite differences).
import type { GpuContext } from '../gpu/context.js';
import { defineKernel } from '../gpu/kernel.js';
import { check, GpuTensor, shapeStr } from '../gpu/tensor.js';
import { groupNormWorkgroup } from './group_norm.js';
import { wgsl } from './wgsl.gen.js';

export const groupNormBackwardKernel = defineKernel({
  name: 'group_norm_backward', source: wgsl.group_norm_backward, overrides: { WG: 256, SILU: 0 },
});

export interface GroupNormBackwardOptions {
  groups: number;
  eps: number;
  /** the forward fused SiLU: differentiate silu(gn(x)) */
  silu?: boolean;
  /** [N, C, H, W]: a gradient already flowing into x (a residual branch), added in the epilogue */
  acc?: GpuTensor;
  /** workgroup size, a power of two (default: the forward's groupNormWorkgroup) */
  wg?: number;
}

/** x (forward input), dy: [N, C, H, W], gamma/beta: [C] (dtype W) -> dx [N, C, H, W] (dtype of x) */
export function groupNormBackward(ctx: GpuContext, x: GpuTensor, dy: GpuTensor, gamma: GpuTensor, beta: GpuTensor,
                                  opts: GroupNormBackwardOptions): GpuTensor {
  check(x.shape.length === 4, `group_norm_backward: x must be [N, C, H, W], got ${shapeStr(x.shape)}`);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const { groups, eps, acc } = opts;
  check(Number.isInteger(groups) && groups > 0 && C % groups === 0, `group_norm_backward: C=${C} not divisible by groups=${groups}`);
  check(dy.shape.length === 4 && dy.shape.every((d, i) => d === x.shape[i]) && dy.dtype === x.dtype,
    `group_norm_backward: dy ${shapeStr(dy.shape)} ${dy.dtype} must match x ${shapeStr(x.shape)} ${x.dtype}`);
  check(gamma.size === C && beta.size === C && gamma.dtype === beta.dtype,
    `group_norm_backward: gamma ${shapeStr(gamma.shape)} / beta ${shapeStr(beta.shape)} must have C=${C} values of one dtype`);
  check(!acc || (acc.size === x.size && acc.dtype === x.dtype), `group_norm_backward: acc ${acc && shapeStr(acc.shape)} must match x`);
  check(eps > 0, `group_norm_backward: eps must be > 0 (got ${eps})`);
  const rows = N * groups;
  check(rows <= ctx.limits.maxComputeWorkgroupsPerDimension, `group_norm_backward: N*groups=${rows} exceeds the dispatch limit`);
  const WG = opts.wg ?? groupNormWorkgroup(ctx.adapter.isFallbackAdapter);
  check(Number.isInteger(WG) && WG > 0 && (WG & (WG - 1)) === 0, `group_norm_backward: workgroup size ${WG} is not a power of two`);
  const dx = ctx.alloc(x.shape, x.dtype);
  ctx.dispatch(groupNormBackwardKernel, { x, dy, gamma, beta, acc: acc ?? dy, dx },
    { C, HW: H * W, groups, eps, has_acc: acc ? 1 : 0 }, [rows],
    { types: { T: x.dtype, W: gamma.dtype }, overrides: { WG, SILU: opts.silu ? 1 : 0 } });
  return dx;
}
