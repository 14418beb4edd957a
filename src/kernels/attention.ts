// Scaled dot-product attention, flash style: keys are walked in tiles with an online softmax
// (running max and sum, rescaled accumulator), so the Nq x Nk score matrix is never allocated.
// Two algorithm files, chosen here:
//   attention_sg.wgsl    CPU adapters (lavapipe, SwiftShader): q rows in registers, K/V rows
//                        shared across the subgroup by shuffles (loads per FMA set the speed there).
//   attention_tiled.wgsl GPUs: K/V tiles in workgroup memory; also the fallback for D % 4 != 0
//                        and for adapters without subgroups.
// The choice is by `ctx.adapter.isFallbackAdapter` for now (src/kernels/select_variant.ts, when
// it lands, can replace it with a measured choice); `variant` forces one (tests, benchmarks).
import type { GpuContext } from '../gpu/context.js';
import { defineKernel } from '../gpu/kernel.js';
import { check, GpuTensor, shapeStr } from '../gpu/tensor.js';
import { wgsl } from './wgsl.gen.js';

export const attentionSgKernel = defineKernel({
  name: 'attention_sg', source: wgsl.attention_sg, overrides: { WG: 64, R: 4, SG: 8 },
});
export const attentionTiledKernel = defineKernel({
  name: 'attention_tiled', source: wgsl.attention_tiled, overrides: { WG: 64, BK: 16, D4: 10, KT: 160 },
});

/** Limits baked into the WGSL files (their `const`s). */
const SG_QMAX = 128, SG_RMAX = 4, SG_MAX = 32, TILED_DMAX4 = 128, TILED_BKMAX = 64;
/** Workgroup memory the tiled kernel may use: WebGPU's default limit, so it fits every adapter. */
const TILED_SMEM = 16384;

export type AttentionVariant = 'sg' | 'tiled';

export interface AttentionOptions {
  heads: number;
  /** default 1/sqrt(D) */
  scale?: number;
  /** exclude key j from query i when j > i (CLIP's mask) */
  causal?: boolean;
  /** force an algorithm (default: attentionVariant) */
  variant?: AttentionVariant;
}

/** Whether the subgroup kernel can run here: subgroups, a known subgroup size, D % 4 == 0. */
export function canUseSg(ctx: GpuContext, D: number): boolean {
  return ctx.hasSubgroups && ctx.adapter.subgroupMinSize >= 1 && D % 4 === 0 && D / 4 <= SG_QMAX;
}

/** The default algorithm for head size D on this adapter. */
export function attentionVariant(ctx: GpuContext, D: number): AttentionVariant {
  return ctx.adapter.isFallbackAdapter && canUseSg(ctx, D) ? 'sg' : 'tiled';
}

/** An operand read as rows of one buffer: row r's C channels start at element off + r * rowStride. */
export interface AttnOperand { t: GpuTensor; off: number; rowStride: number }

/**
 * q: [B, Nq, heads*D], k, v: [B, Nk, heads*D] (token-major, heads interleaved in channels, as
 * Linear produces them) -> [B, Nq, heads*D] = softmax(scale * q k^T) v per (batch, head).
 */
export function attention(ctx: GpuContext, q: GpuTensor, k: GpuTensor, v: GpuTensor, opts: AttentionOptions): GpuTensor {
  check(q.shape.length === 3 && k.shape.length === 3 && v.shape.length === 3,
    `attention: q, k, v must be [B, N, heads*D] (got ${shapeStr(q.shape)}, ${shapeStr(k.shape)}, ${shapeStr(v.shape)})`);
  const [B, Nq, C] = q.shape;
  const [Bk, Nk, Ck] = k.shape;
  check(Bk === B && Ck === C && k.shape.every((d, i) => d === v.shape[i]),
    `attention: k ${shapeStr(k.shape)} and v ${shapeStr(v.shape)} must be [${B}, Nk, ${C}]`);
  const dense = (t: GpuTensor): AttnOperand => ({ t, off: 0, rowStride: C });
  return attentionSlices(ctx, dense(q), dense(k), dense(v), { B, Nq, Nk, C }, opts);
}

/**
 * attention on column slices of row-major buffers (a fused QKV projection [B, N, 3C], or one
 * bank of every cross-attention K/V [B, M, sum 2C]): no split copies. Output dense [B, Nq, C].
 */
export function attentionSlices(ctx: GpuContext, q: AttnOperand, k: AttnOperand, v: AttnOperand,
                                dims: { B: number; Nq: number; Nk: number; C: number }, opts: AttentionOptions): GpuTensor {
  const { B, Nq, Nk, C } = dims;
  const { heads } = opts;
  check(Number.isInteger(heads) && heads >= 1 && C % heads === 0, `attention: ${C} channels do not split into ${heads} heads`);
  for (const [name, x, rows] of [['q', q, B * Nq], ['k', k, B * Nk], ['v', v, B * Nk]] as const) {
    check(x.rowStride >= C && x.off + (rows - 1) * x.rowStride + C <= x.t.size,
      `attention: ${name} rows (off ${x.off}, stride ${x.rowStride}, ${rows} x ${C}) outside ${shapeStr(x.t.shape)}`);
  }
  check(q.t.dtype === k.t.dtype && q.t.dtype === v.t.dtype, `attention: dtypes differ (${q.t.dtype}, ${k.t.dtype}, ${v.t.dtype})`);
  check(B * heads <= ctx.limits.maxComputeWorkgroupsPerDimension, `attention: B*heads = ${B * heads} workgroup rows is too many`);
  const D = C / heads;
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const causal = opts.causal ? 1 : 0;
  // the subgroup kernel reads 4-vectors: offsets and strides must be multiples of 4
  const aligned = [q, k, v].every((x) => x.off % 4 === 0 && x.rowStride % 4 === 0);
  const variant = opts.variant ?? (aligned ? attentionVariant(ctx, D) : 'tiled');
  const out = ctx.alloc([B, Nq, C], q.t.dtype);
  const types = { types: { T: q.t.dtype, W: q.t.dtype } };
  const bind = { q: q.t, k: k.t, v: v.t, o: out };
  if (variant === 'sg') {
    check(canUseSg(ctx, D) && aligned, `attention: the subgroup kernel needs subgroups, D % 4 == 0, D <= ${4 * SG_QMAX} (D=${D}) and 4-aligned slices`);
    const D4 = D / 4;
    const SG = Math.min(ctx.adapter.subgroupMinSize, SG_MAX);
    // R query rows per invocation: more rows = fewer loads per FMA, bounded by the register arrays.
    const R = Math.max(1, Math.min(SG_RMAX, Math.floor(SG_QMAX / D4)));
    // Small Nq: shrink the workgroup rather than leave invocations idle. It stays a multiple of
    // the widest subgroup, so no subgroup is partial (a shuffle from an idle lane is undefined).
    // Powers of two times the unit, so few pipelines get compiled (seconds each on lavapipe).
    const unit = Math.max(SG, ctx.adapter.subgroupMaxSize);
    let WG = unit;
    while (WG * 2 <= Math.max(64, unit) && WG * R < Nq) WG *= 2;
    const sl = { q_off: q.off / 4, q_rs: q.rowStride / 4, k_off: k.off / 4, k_rs: k.rowStride / 4, v_off: v.off / 4, v_rs: v.rowStride / 4 };
    ctx.dispatch(attentionSgKernel, bind, { Nq, Nk, heads, D4, scale, causal, ...sl },
      [Math.ceil(Nq / (WG * R)), B * heads], { ...types, overrides: { WG, R, SG } });
  } else {
    const D4 = Math.ceil(D / 4);
    check(D4 <= TILED_DMAX4, `attention: head size ${D} is over ${4 * TILED_DMAX4}`);
    let BK = TILED_BKMAX;
    while (BK > 1 && 2 * BK * D4 * 16 > TILED_SMEM) BK /= 2;
    const WG = 64;
    const sl = { q_off: q.off, q_rs: q.rowStride, k_off: k.off, k_rs: k.rowStride, v_off: v.off, v_rs: v.rowStride };
    ctx.dispatch(attentionTiledKernel, bind, { Nq, Nk, heads, D, scale, causal, ...sl },
      [Math.ceil(Nq / WG), B * heads], { ...types, overrides: { WG, BK, D4, KT: BK * D4 } });
  }
  return out;
}
