// Input gradients of flash attention (attention.ts) without materialising P: for the UNet's
// self-attention at 4096 tokens, P is 4096^2 per head (512 MiB f32 per head at batch 1), which
// attention_backward.ts (CLIP, 197 tokens) would store. Two passes, each recomputing the scores
// tile by tile (FlashAttention-2's backward, arXiv:2307.08691 Alg. 2, without its atomics):
//   1. attention_flash_dq.wgsl, per query row: dq, and (lse, delta) per row as a by-product (an
//      online softmax over the keys, so the forward need not save its logsumexp);
//   2. attention_flash_dkv.wgsl, per key row: dk, dv from those statistics (self-attention).
// Cross-attention (K/V from the constant text context) needs dq only: `grads: 'q'` runs pass 1.
// Two layouts of both passes, chosen as the forward chooses (attention.ts attentionVariant):
//   'tiled' (GPUs, any D): K/V (pass 1) or q/dO (pass 2) tiles in workgroup memory;
//   'sg' (CPU adapters, D % 4 == 0): R rows per invocation, tiles shared by subgroup shuffles
//        (attention_flash_d*_sg.wgsl; on lavapipe the forward's sg kernel is ~8x its tiled one).
// Cost: pass 1 ~ the forward (two dots and two axpys per score), pass 2 the same; the stats
// buffer is B*heads*Nq*2 f32 (256 KiB at 4096 tokens, 8 heads).
// Reference: src/kernels/reference/attention_flash_backward.ts (checked against finite differences).
import type { GpuContext } from '../gpu/context.js';
import { defineKernel } from '../gpu/kernel.js';
import { check, GpuTensor, shapeStr } from '../gpu/tensor.js';
import { attentionVariant, canUseSg, type AttentionVariant } from './attention.js';
import { wgsl } from './wgsl.gen.js';

export const attentionFlashDqKernel = defineKernel({
  name: 'attention_flash_dq', source: wgsl.attention_flash_dq, overrides: { WG: 64, BK: 16, D4: 10, KT: 160 },
});
export const attentionFlashDkvKernel = defineKernel({
  name: 'attention_flash_dkv', source: wgsl.attention_flash_dkv, overrides: { WG: 64, BK: 16, D4: 10, KT: 160 },
});
export const attentionFlashDqSgKernel = defineKernel({
  name: 'attention_flash_dq_sg', source: wgsl.attention_flash_dq_sg, overrides: { WG: 64, R: 4, SG: 8 },
});
export const attentionFlashDkvSgKernel = defineKernel({
  name: 'attention_flash_dkv_sg', source: wgsl.attention_flash_dkv_sg, overrides: { WG: 64, R: 4, SG: 8 },
});

/** Limits baked into the WGSL files; workgroup memory kept to WebGPU's default 16 KiB. */
const DMAX4 = 64, BKMAX = 64, SMEM = 16384, SG_QMAX = 128, SG_RMAX = 4, SG_MAX = 32;

export interface FlashBackwardOptions {
  heads: number;
  /** default 1/sqrt(D), as the forward */
  scale?: number;
  /** 'qkv' (self-attention, default) or 'q' (cross-attention: k, v are constants) */
  grads?: 'qkv' | 'q';
  /** force a layout (tests, benchmarks); default: the forward's attentionVariant */
  variant?: AttentionVariant;
}

export interface FlashGrads {
  dq: GpuTensor;
  dk?: GpuTensor;
  dv?: GpuTensor;
  /** [B*heads, Nq, 2] f32: (logsumexp, delta = rowsum(P * dP)) per query row */
  stats: GpuTensor;
}

/**
 * q, dO: [B, Nq, heads*D], k, v: [B, Nk, heads*D] (the forward's inputs and its output gradient)
 * -> dq [B, Nq, heads*D], and for grads 'qkv' dk, dv [B, Nk, heads*D] (dtype of q).
 */
export function attentionFlashBackward(ctx: GpuContext, q: GpuTensor, k: GpuTensor, v: GpuTensor, dO: GpuTensor,
                                       opts: FlashBackwardOptions): FlashGrads {
  check(q.shape.length === 3 && k.shape.length === 3 && v.shape.length === 3,
    `attention_flash_backward: q, k, v must be [B, N, heads*D] (got ${shapeStr(q.shape)}, ${shapeStr(k.shape)}, ${shapeStr(v.shape)})`);
  const [B, Nq, C] = q.shape as [number, number, number];
  const Nk = k.shape[1]!;
  const { heads } = opts;
  check(Number.isInteger(heads) && heads >= 1 && C % heads === 0, `attention_flash_backward: ${C} channels do not split into ${heads} heads`);
  check(k.shape[0] === B && k.shape[2] === C && k.shape.every((d, i) => d === v.shape[i]),
    `attention_flash_backward: k ${shapeStr(k.shape)} and v ${shapeStr(v.shape)} must be [${B}, Nk, ${C}]`);
  check(dO.shape.length === 3 && dO.shape.every((d, i) => d === q.shape[i]),
    `attention_flash_backward: dO ${shapeStr(dO.shape)} must match q ${shapeStr(q.shape)}`);
  for (const [n, t] of [['k', k], ['v', v], ['dO', dO]] as const) {
    check(t.dtype === q.dtype, `attention_flash_backward: ${n} is ${t.dtype}, q ${q.dtype}`);
  }
  check(B * heads <= ctx.limits.maxComputeWorkgroupsPerDimension, `attention_flash_backward: B*heads = ${B * heads} workgroup rows is too many`);
  const D = C / heads, D4 = Math.ceil(D / 4);
  check(D4 <= DMAX4, `attention_flash_backward: head size ${D} is over ${4 * DMAX4}`);
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const variant = opts.variant ?? attentionVariant(ctx, D);
  const params = { Nq, Nk, heads, scale };
  const dq = ctx.alloc(q.shape, q.dtype), stats = ctx.alloc([B * heads, Nq, 2], 'f32');
  const dk = opts.grads === 'q' ? undefined : ctx.alloc(k.shape, q.dtype), dv = dk && ctx.alloc(k.shape, q.dtype);
  const types = { T: q.dtype, W: q.dtype };
  if (variant === 'sg') {
    check(canUseSg(ctx, D), `attention_flash_backward: the subgroup kernels need subgroups and D % 4 == 0, D <= ${4 * SG_QMAX} (D=${D})`);
    // R rows per invocation and the workgroup size as attention.ts's sg forward picks them
    const SG = Math.min(ctx.adapter.subgroupMinSize, SG_MAX), unit = Math.max(SG, ctx.adapter.subgroupMaxSize);
    const R = Math.max(1, Math.min(SG_RMAX, Math.floor(SG_QMAX / D4)));
    const wgFor = (n: number) => { let WG = unit; while (WG * 2 <= Math.max(64, unit) && WG * R < n) WG *= 2; return WG; };
    const p = { ...params, D4 }, WGq = wgFor(Nq), WGk = wgFor(Nk);
    ctx.dispatch(attentionFlashDqSgKernel, { q, k, v, dO, dq, stats }, p, [Math.ceil(Nq / (WGq * R)), B * heads],
      { types, overrides: { WG: WGq, R, SG } });
    if (dk && dv) {
      ctx.dispatch(attentionFlashDkvSgKernel, { q, k, v, dO, stats, dk, dv }, p, [Math.ceil(Nk / (WGk * R)), B * heads],
        { types, overrides: { WG: WGk, R, SG } });
    }
    return { dq, dk, dv, stats };
  }
  let BK = BKMAX;
  while (BK > 1 && 2 * BK * D4 * 16 > SMEM) BK /= 2;
  const WG = 64, o = { types, overrides: { WG, BK, D4, KT: BK * D4 } }, p = { ...params, D };
  ctx.dispatch(attentionFlashDqKernel, { q, k, v, dO, dq, stats }, p, [Math.ceil(Nq / WG), B * heads], o);
  if (dk && dv) ctx.dispatch(attentionFlashDkvKernel, { q, k, v, dO, stats, dk, dv }, p, [Math.ceil(Nk / WG), B * heads], o);
  return { dq, dk, dv, stats };
}
