// Input gradient of GroupNorm (+ fused SiLU), group_norm.ts's forward: d/dx of silu?(gn(x)) for
// the UNet VJP (resnet norm1/norm2 with SiLU, the transformer's norm and conv_norm_out).
// Statistics are recomputed from x, so nothing but x is saved from the forward. Two algorithms,
// chosen by the forward's rule (groupNormAlgorithm: 'split' only on hardware adapters for groups
// over two chunks, H*W % 4 == 0):
//  - 'single': one workgroup per (n, group) streams the group four times (mean, variance, the
//    two gradient sums, the write): group_norm_backward.wgsl, any H*W.
//  - 'split': [2, 320, 64, 64] has only 64 groups of 40960 values, too few workgroups for a GPU:
//    chunk statistics (the forward's group_norm_stats.wgsl), chunk gradient sums, then apply,
//    each with ceil(group / chunk) workgroups per group (group_norm_backward_{sums,apply}.wgsl).
// Reference: src/kernels/reference/group_norm_backward.ts (checked against finite differences).
import type { GpuContext } from '../gpu/context.js';
import { defineKernel } from '../gpu/kernel.js';
import { check, GpuTensor, shapeStr } from '../gpu/tensor.js';
import { GROUP_NORM_CHUNK, groupNormAlgorithm, groupNormStatsKernel, groupNormWorkgroup } from './group_norm.js';
import { wgsl } from './wgsl.gen.js';

export const groupNormBackwardKernel = defineKernel({
  name: 'group_norm_backward', source: wgsl.group_norm_backward, overrides: { WG: 256, SILU: 0 },
});
export const groupNormBackwardSumsKernel = defineKernel({
  name: 'group_norm_backward_sums', source: wgsl.group_norm_backward_sums, overrides: { WG: 256, SILU: 0 },
});
export const groupNormBackwardApplyKernel = defineKernel({
  name: 'group_norm_backward_apply', source: wgsl.group_norm_backward_apply, overrides: { WG: 256, SILU: 0 },
});

export type GroupNormBackwardAlgorithm = 'single' | 'split';

export interface GroupNormBackwardOptions {
  groups: number;
  eps: number;
  /** the forward fused SiLU: differentiate silu(gn(x)) */
  silu?: boolean;
  /** [N, C, H, W]: a gradient already flowing into x (a residual branch), added in the epilogue */
  acc?: GpuTensor;
  /** workgroup size, a power of two (default: the forward's groupNormWorkgroup) */
  wg?: number;
  /** force an algorithm (tests); default: 'split' where the forward would split */
  algorithm?: GroupNormBackwardAlgorithm;
  /** values per workgroup in 'split', a multiple of 4 (default GROUP_NORM_CHUNK) */
  chunk?: number;
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
  const HW = H * W, chunk = opts.chunk ?? GROUP_NORM_CHUNK;
  const algorithm = opts.algorithm ??
    (groupNormAlgorithm(x.shape, groups, ctx.adapter.isFallbackAdapter, chunk) === 'split' ? 'split' : 'single');
  const types = { T: x.dtype, W: gamma.dtype }, overrides = { WG, SILU: opts.silu ? 1 : 0 };
  const has_acc = acc ? 1 : 0;
  const dx = ctx.alloc(x.shape, x.dtype);
  if (algorithm === 'single') {
    ctx.dispatch(groupNormBackwardKernel, { x, dy, gamma, beta, acc: acc ?? dy, dx }, { C, HW, groups, eps, has_acc }, [rows],
      { types, overrides });
    return dx;
  }
  check(HW % 4 === 0 && Number.isInteger(chunk) && chunk > 0 && chunk % 4 === 0,
    `group_norm_backward: 'split' needs H*W % 4 == 0 (H*W=${HW}) and a chunk that is a positive multiple of 4 (${chunk})`);
  const chunks = Math.ceil((C / groups) * HW / chunk);
  check(chunks <= ctx.limits.maxComputeWorkgroupsPerDimension, `group_norm_backward: ${chunks} chunks per group exceed the dispatch limit`);
  // (mean, M2) then (sum g, sum g xhat) per chunk, always f32
  const part = ctx.alloc([rows, chunks, 2], 'f32'), sums = ctx.alloc([rows, chunks, 2], 'f32');
  ctx.dispatch(groupNormStatsKernel, { x, part }, { C, HW, groups, chunk, chunks }, [chunks, rows], { types, overrides: { WG } });
  ctx.dispatch(groupNormBackwardSumsKernel, { x, dy, part, gamma, beta, sums }, { C, HW, groups, eps, chunk, chunks },
    [chunks, rows], { types, overrides });
  ctx.dispatch(groupNormBackwardApplyKernel, { x, dy, part, sums, gamma, beta, acc: acc ?? dy, dx },
    { C, HW, groups, eps, chunk, chunks, has_acc }, [chunks, rows], { types, overrides });
  ctx.release(part, sums);
  return dx;
}
