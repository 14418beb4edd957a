// Input gradients of self-attention o = softmax(scale q k^T) v from the materialised P
// (attention_probs.ts): softmax backward into dS, then dq = dS k, dk = dS^T q, dv = P^T dO.
import type { GpuContext } from '../gpu/context.js';
import { defineKernel } from '../gpu/kernel.js';
import { check, GpuTensor, shapeStr } from '../gpu/tensor.js';
import { grid1d } from './grid.js';
import { wgsl } from './wgsl.gen.js';

export const attentionBackwardScoresKernel = defineKernel({
  name: 'attention_backward_scores', source: wgsl.attention_backward_scores, overrides: { WG: 128 },
});
export const attentionBackwardKernel = defineKernel({ name: 'attention_backward', source: wgsl.attention_backward, overrides: { WG: 256 } });

export interface AttentionGrads { dq: GpuTensor; dk: GpuTensor; dv: GpuTensor }

/**
 * q, k, v, dO: [B, N, heads*D], P: [B, heads, N, N] f32 (the forward's probabilities)
 * -> dq, dk, dv [B, N, heads*D] (dq, dk w.r.t. the unscaled projections).
 */
export function attentionBackward(ctx: GpuContext, q: GpuTensor, k: GpuTensor, v: GpuTensor, P: GpuTensor, dO: GpuTensor,
                                  opts: { scale?: number } = {}): AttentionGrads {
  check(q.shape.length === 3 && P.shape.length === 4, `attention_backward: q ${shapeStr(q.shape)}, P ${shapeStr(P.shape)}`);
  const [B, N, C] = q.shape;
  const heads = P.shape[1], D = C / heads;
  for (const t of [k, v, dO]) check(t.size === q.size && t.dtype === q.dtype, `attention_backward: ${shapeStr(t.shape)} vs q ${shapeStr(q.shape)}`);
  check(P.shape[0] === B && P.shape[2] === N && P.shape[3] === N && P.dtype === 'f32' && Number.isInteger(D),
    `attention_backward: P ${shapeStr(P.shape)} does not fit q ${shapeStr(q.shape)} (self-attention only)`);
  const scale = opts.scale ?? D ** -0.5;
  const types = { types: { T: q.dtype, W: q.dtype } };
  const rows = B * heads * N;
  const dS = ctx.alloc(P.shape, 'f32');
  const gr = grid1d(rows, 1);
  ctx.dispatch(attentionBackwardScoresKernel, { P, v, dO, dS }, { rows, N, heads, D, scale, row_stride: gr.rowStride }, gr.workgroups, types);
  const dq = ctx.alloc(q.shape, q.dtype), dk = ctx.alloc(q.shape, q.dtype), dv = ctx.alloc(q.shape, q.dtype);
  const g = grid1d(q.size, 256);
  ctx.dispatch(attentionBackwardKernel, { q, k, dO, P, dS, dq, dk, dv }, { n: q.size, N, heads, D, row_stride: g.rowStride }, g.workgroups, types);
  ctx.release(dS);
  return { dq, dk, dv };
}
