// Attention with the probabilities materialised, for short sequences whose backward needs them
// (CLIP vision, 197 tokens): P = softmax(scale q k^T) per head, then o = P v. The flash kernel
// (attention.ts) is the one for long sequences; it never forms P.
import type { GpuContext } from '../gpu/context.js';
import { defineKernel } from '../gpu/kernel.js';
import { check, GpuTensor, shapeStr } from '../gpu/tensor.js';
import { grid1d } from './grid.js';
import { wgsl } from './wgsl.gen.js';

export const attentionProbsKernel = defineKernel({ name: 'attention_probs', source: wgsl.attention_probs, overrides: { WG: 128 } });
export const attentionPvKernel = defineKernel({ name: 'attention_pv', source: wgsl.attention_pv, overrides: { WG: 256 } });

export interface AttentionProbsOptions { heads: number; scale?: number }

/** q: [B, Nq, heads*D], k: [B, Nk, heads*D] -> P [B, heads, Nq, Nk] f32 */
export function attentionProbs(ctx: GpuContext, q: GpuTensor, k: GpuTensor, opts: AttentionProbsOptions): GpuTensor {
  check(q.shape.length === 3 && k.shape.length === 3 && q.shape[0] === k.shape[0] && q.shape[2] === k.shape[2] && q.dtype === k.dtype,
    `attention_probs: q ${shapeStr(q.shape)}, k ${shapeStr(k.shape)}`);
  const [B, Nq, C] = q.shape;
  const Nk = k.shape[1], heads = opts.heads, D = C / heads;
  check(Number.isInteger(D), `attention_probs: ${C} channels are not ${heads} heads`);
  const rows = B * heads * Nq;
  const P = ctx.alloc([B, heads, Nq, Nk], 'f32');
  const g = grid1d(rows, 1);
  ctx.dispatch(attentionProbsKernel, { q, k, P }, { rows, Nq, Nk, heads, D, scale: opts.scale ?? D ** -0.5, row_stride: g.rowStride },
    g.workgroups, { types: { T: q.dtype, W: q.dtype } });
  return P;
}

/** P: [B, heads, Nq, Nk] f32, v: [B, Nk, heads*D] -> o [B, Nq, heads*D] */
export function attentionPv(ctx: GpuContext, P: GpuTensor, v: GpuTensor): GpuTensor {
  check(P.shape.length === 4 && v.shape.length === 3 && P.dtype === 'f32', `attention_pv: P ${shapeStr(P.shape)}, v ${shapeStr(v.shape)}`);
  const [B, heads, Nq, Nk] = P.shape;
  const C = v.shape[2];
  check(v.shape[0] === B && v.shape[1] === Nk && C % heads === 0, `attention_pv: v ${shapeStr(v.shape)} does not fit P ${shapeStr(P.shape)}`);
  const o = ctx.alloc([B, Nq, C], v.dtype);
  const g = grid1d(o.size, 256);
  ctx.dispatch(attentionPvKernel, { P, v, o }, { n: o.size, Nq, Nk, heads, D: C / heads, row_stride: g.rowStride }, g.workgroups,
    { types: { T: v.dtype, W: v.dtype } });
  return o;
}
