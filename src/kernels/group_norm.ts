// GroupNorm (+ optional fused SiLU) over NCHW, as torch.nn.GroupNorm (biased variance).
// Three algorithms, picked by shape and adapter (ratchet-style select, measured on lavapipe):
//  - 'vec4': one workgroup per (n, group), one dispatch, vec4 loads (group_norm_vec4.wgsl);
//    needs H*W % 4 == 0. ~3x faster than scalar loads on lavapipe.
//  - 'scalar': the same with scalar loads, for any H*W (group_norm.wgsl).
//  - 'split': chunk statistics, then merge-and-normalise (group_norm_stats/apply.wgsl, vec4):
//    two dispatches but ceil(groupSize/chunk) workgroups per group. [2,320,64,64] has only 64
//    groups of 40960 values: one workgroup each leaves most of a real GPU idle. On CPU
//    adapters (lavapipe, SwiftShader) 64 workgroups already fill the cores and the extra
//    barriers make 'split' ~2x slower, so it is only picked on hardware adapters.
//  - 'fit' (small groups): the vec4 kernel with the workgroup sized to the group (~4 vec4 per
//    invocation): an embedded-model group of 256 values left 3/4 of a 256-wide workgroup idle.
//  - 'sg' (subgroups): one subgroup per group, subgroupAdd statistics, no barriers
//    (group_norm_sg.wgsl); needs subgroupMinSize >= 4.
// Where the rule says 'vec4', the variant among vec4 / fit / sg is measured per adapter and shape
// class through the variant table (select_variant.ts, op 'group_norm'); 'vec4' is provisional.
// SiLU is an override constant (a uniform branch in the loop cost ~1.5x on lavapipe).
import type { GpuContext } from '../gpu/context.js';
import { defineKernel } from '../gpu/kernel.js';
import { check, GpuTensor, shapeStr, type DType } from '../gpu/tensor.js';
import { Rng } from '../util/rng.js';
import { bucket, recordPlan, selectVariant, type DispatchPlan, type TuneRequest } from './select_variant.js';
import { wgsl } from './wgsl.gen.js';

export const groupNormKernel = defineKernel({ name: 'group_norm', source: wgsl.group_norm, overrides: { WG: 256, SILU: 0 } });
export const groupNormVec4Kernel = defineKernel({ name: 'group_norm_vec4', source: wgsl.group_norm_vec4, overrides: { WG: 256, SILU: 0 } });
export const groupNormSgKernel = defineKernel({ name: 'group_norm_sg', source: wgsl.group_norm_sg, overrides: { WG: 8, GPW: 1, SILU: 0 } });
export const groupNormStatsKernel = defineKernel({ name: 'group_norm_stats', source: wgsl.group_norm_stats, overrides: { WG: 256 } });
export const groupNormApplyKernel = defineKernel({ name: 'group_norm_apply', source: wgsl.group_norm_apply, overrides: { WG: 256, SILU: 0 } });

export type GroupNormAlgorithm = 'scalar' | 'vec4' | 'split' | GroupNormVariant;
/** the measured single-dispatch variants for H*W % 4 == 0 ('vec4' is the provisional one) */
export type GroupNormVariant = 'vec4' | 'fit' | 'sg';

export interface GroupNormOptions {
  groups: number;
  /** 1e-5 in UNet resnets, 1e-6 in transformer blocks and the VAE */
  eps: number;
  /** fuse SiLU after the affine transform (resnet norm1/norm2, conv_out's norm) */
  silu?: boolean;
  /** force an algorithm (tests, bench); default groupNormAlgorithm(), then measured among vec4/fit/sg */
  algorithm?: GroupNormAlgorithm;
  /** values per workgroup in the split algorithm, a multiple of 4 (default GROUP_NORM_CHUNK) */
  chunk?: number;
  /** workgroup size, a power of two (default groupNormWorkgroup()) */
  wg?: number;
}

/**
 * 64 on CPU adapters (lavapipe: 2.5 vs 13.7 ms at [2,1280,8,8], 57 vs 74 ms at [2,320,64,64]
 * against 256: fewer invocations to step through each barrier), 256 on GPUs, where one
 * workgroup must stream a whole group.
 */
export function groupNormWorkgroup(cpuAdapter: boolean): number {
  return cpuAdapter ? 64 : 256;
}

/** Values per workgroup in the split algorithm: 4 vec4 per invocation at WG 256. */
export const GROUP_NORM_CHUNK = 4096;

/**
 * 'scalar' when H*W % 4 != 0; else 'split' on hardware adapters once a group spans more than
 * two chunks; else 'vec4'.
 */
export function groupNormAlgorithm(shape: readonly number[], groups: number, cpuAdapter: boolean,
                                   chunk = GROUP_NORM_CHUNK): GroupNormAlgorithm {
  const [, C, H, W] = shape;
  if ((H * W) % 4 !== 0) return 'scalar';
  return !cpuAdapter && (C / groups) * H * W > 2 * chunk ? 'split' : 'vec4';
}

/** x: [N, C, H, W], gamma/beta: [C] (dtype W) -> [N, C, H, W] (dtype of x) */
export function groupNorm(ctx: GpuContext, x: GpuTensor, gamma: GpuTensor, beta: GpuTensor,
                          opts: GroupNormOptions): GpuTensor {
  check(x.shape.length === 4, `group_norm: x must be [N, C, H, W], got ${shapeStr(x.shape)}`);
  const [N, C, H, W] = x.shape;
  const { groups, eps } = opts;
  check(Number.isInteger(groups) && groups > 0 && C % groups === 0, `group_norm: C=${C} not divisible by groups=${groups}`);
  check(gamma.size === C && beta.size === C, `group_norm: gamma ${shapeStr(gamma.shape)} / beta ${shapeStr(beta.shape)} must have C=${C} values`);
  check(gamma.dtype === beta.dtype, `group_norm: gamma is ${gamma.dtype} but beta is ${beta.dtype}`);
  check(eps > 0, `group_norm: eps must be > 0 (got ${eps})`);
  const rows = N * groups;
  check(rows <= ctx.limits.maxComputeWorkgroupsPerDimension, `group_norm: N*groups=${rows} exceeds the dispatch limit`);
  const HW = H * W;
  const chunk = opts.chunk ?? GROUP_NORM_CHUNK;
  const algorithm = opts.algorithm ?? groupNormAlgorithm(x.shape, groups, ctx.adapter.isFallbackAdapter, chunk);
  check(algorithm === 'scalar' || HW % 4 === 0, `group_norm: the ${algorithm} algorithm needs H*W % 4 == 0 (H*W=${HW})`);
  const WG = opts.wg ?? groupNormWorkgroup(ctx.adapter.isFallbackAdapter);
  check(Number.isInteger(WG) && WG > 0 && (WG & (WG - 1)) === 0, `group_norm: workgroup size ${WG} is not a power of two`);
  const types = { T: x.dtype, W: gamma.dtype };
  const SILU = opts.silu ? 1 : 0;
  const y = ctx.alloc(x.shape, x.dtype);

  if (algorithm !== 'split') {
    const v = algorithm !== 'vec4' || opts.algorithm || opts.wg
      ? algorithm : selectVariant(ctx, groupNormTuneRequest(ctx, x.shape, groups, types), 'vec4');
    recordPlan(ctx, groupNormPlan(ctx, v, x, gamma, beta, y, groups, eps, SILU, WG));
    return y;
  }
  check(Number.isInteger(chunk) && chunk > 0 && chunk % 4 === 0, `group_norm: chunk must be a positive multiple of 4 (got ${chunk})`);
  const chunks = Math.ceil((C / groups) * HW / chunk);
  check(chunks <= ctx.limits.maxComputeWorkgroupsPerDimension, `group_norm: ${chunks} chunks per group exceed the dispatch limit`);
  // (mean, M2) per chunk, always f32
  const part = ctx.alloc([rows, chunks, 2], 'f32');
  ctx.dispatch(groupNormStatsKernel, { x, part }, { C, HW, groups, chunk, chunks }, [chunks, rows], { types, overrides: { WG } });
  ctx.dispatch(groupNormApplyKernel, { x, part, gamma, beta, y }, { C, HW, groups, eps, chunk, chunks }, [chunks, rows],
    { types, overrides: { WG, SILU } });
  ctx.release(part);
  return y;
}

/** Invocations per group in the 'fit' variant: a power of two near len4 / 4, at most `max`. */
export function groupNormFitWorkgroup(len4: number, max: number): number {
  let wg = 4;
  while (wg < max && wg * 4 < len4) wg *= 2;
  return Math.min(wg, max);
}

/** The single-dispatch variants valid for this problem on this adapter. */
export function groupNormVariants(ctx: GpuContext, shape: readonly number[], groups: number): GroupNormVariant[] {
  const len4 = (shape[1]! / groups) * shape[2]! * shape[3]! / 4;
  const wg = groupNormWorkgroup(ctx.adapter.isFallbackAdapter);
  const out: GroupNormVariant[] = ['vec4'];
  if (groupNormFitWorkgroup(len4, wg) < wg) out.push('fit');
  if (ctx.hasSubgroups && ctx.adapter.subgroupMinSize >= 4) out.push('sg');
  return out;
}

/** One dispatch of a single-dispatch variant (scalar, vec4, fit, sg); WG is vec4/scalar's workgroup. */
export function groupNormPlan(ctx: GpuContext, v: Exclude<GroupNormAlgorithm, 'split'>, x: GpuTensor, gamma: GpuTensor,
                              beta: GpuTensor, y: GpuTensor, groups: number, eps: number, SILU: number, WG: number): DispatchPlan {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const HW = H * W, rows = N * groups, types = { T: x.dtype, W: gamma.dtype };
  const bindings = { x, gamma, beta, y };
  if (v === 'sg') {
    check(ctx.hasSubgroups && ctx.adapter.subgroupMinSize >= 4, 'group_norm: the sg variant needs subgroups of at least 4 lanes');
    const wg = Math.min(ctx.adapter.subgroupMinSize, 32), wgs = Math.ceil(rows / GN_SG_GPW);
    return { kernel: groupNormSgKernel, bindings, params: { C, HW, groups, eps, rows }, types,
      workgroups: [Math.min(wgs, 65535), Math.ceil(wgs / 65535), 1], overrides: { WG: wg, GPW: GN_SG_GPW, SILU } };
  }
  const wg = v === 'fit' ? groupNormFitWorkgroup((C / groups) * HW / 4, WG) : WG;
  return { kernel: v === 'scalar' ? groupNormKernel : groupNormVec4Kernel, bindings, params: { C, HW, groups, eps }, types,
    workgroups: [rows, 1, 1], overrides: { WG: wg, SILU } };
}

/** groups per workgroup in the sg variant */
const GN_SG_GPW = 1;
const LEN_BOUNDS = [256, 1024, 4096, 16384], ROW_BOUNDS = [64, 512];

/** Shape class: group length and group-count buckets; proxy: up to 512 groups of the same length. */
export function groupNormTuneRequest(ctx: GpuContext, shape: readonly number[], groups: number,
                                     types: { T: DType; W: DType }): TuneRequest<GroupNormVariant> {
  const [N, C, H, W] = shape as [number, number, number, number];
  const cpg = C / groups, len = cpg * H * W, rows = N * groups;
  const shapeClass = `len${bucket(len, LEN_BOUNDS)}|rows${bucket(rows, ROW_BOUNDS)}`;
  const pn = Math.max(1, Math.min(N, Math.floor(512 / groups))), pshape = [pn, C, H, W];
  return {
    op: 'group_norm', shapeClass, dtype: `${types.T}/${types.W}`, candidates: groupNormVariants(ctx, shape, groups),
    proxy(c) {
      const rng = new Rng(3), n = pn * C * H * W;
      const x = c.upload(rng.normals(n), pshape, types.T), y = c.alloc(pshape, types.T);
      const g = c.upload(rng.normals(C), [C], types.W), b = c.upload(rng.normals(C), [C], types.W);
      const WG = groupNormWorkgroup(c.adapter.isFallbackAdapter), reps = Math.min(8, Math.ceil(262144 / n));
      return {
        label: `[${pshape}] g${groups}${reps > 1 ? ` x${reps}` : ''}`,
        // small proxies run several times per timing: one run is a few timer quanta on lavapipe
        plan: (v) => Array.from({ length: reps }, () => groupNormPlan(c, v, x, g, b, y, groups, 1e-5, 1, WG)),
        dispose: () => c.release(x, y, g, b),
      };
    },
  };
}
