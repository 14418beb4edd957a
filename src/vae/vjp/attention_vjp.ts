// Input gradient of the VAE mid-block's self-attention (unet_mid_block_2d.ts::VaeAttention), ours
// (issue 15): y = x + T^-1(to_out(softmax(q k^T / sqrt(C)) v)), q, k, v = to_{q,k,v}(T(gn(x))),
// T the NCHW -> tokens transpose, one head of width C. Recomputed from the saved input x: the
// group norm, q, k, v and the probabilities P (materialised, attention_probs.ts: the head is far
// wider than the flash kernel's tiles, as in the forward). The backward is attention_backward.ts
// (softmax backward from P), then the three projections' input gradients, summed, and the norm's.
import type { GpuContext } from '../../gpu/context.js';
import { check, shapeStr, type GpuTensor } from '../../gpu/tensor.js';
import { attentionBackward } from '../../kernels/attention_backward.js';
import { attentionProbs } from '../../kernels/attention_probs.js';
import { groupNormBackward } from '../../kernels/group_norm_backward.js';
import { linearBackward } from '../../kernels/linear_backward.js';
import { transpose } from '../../kernels/transpose.js';
import type { VaeAttention } from '../unet_mid_block_2d.js';

/** Bytes of the two [N, 1, L, L] f32 score tensors (P and dS) the backward holds at once. */
export function attentionVjpScoreBytes(N: number, L: number): number {
  return 2 * N * L * L * 4;
}

/**
 * x: the attention's input [N, C, H, W], dy: the gradient of its output -> dx [N, C, H, W].
 * P and dS ([N, 1, H*W, H*W] f32 each) must each fit one storage binding (checked): at a
 * 512 x 512 image (64 x 64 latent) they are 64 MiB per sample.
 */
export function vaeAttentionVjp(ctx: GpuContext, a: VaeAttention, x: GpuTensor, dy: GpuTensor): GpuTensor {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const L = H * W;
  check(C === a.channels && dy.shape.every((d, i) => d === x.shape[i]), `VAE attention VJP: x ${shapeStr(x.shape)}, dy ${shapeStr(dy.shape)}`);
  const limit = Math.min(ctx.limits.maxStorageBufferBindingSize, ctx.limits.maxBufferSize);
  check(N * L * L * 4 <= limit,
    `VAE decoder VJP: the attention scores of ${N} x ${L} tokens (${(N * L * L * 4 / 2 ** 20).toFixed(0)} MiB) do not fit one storage binding (${(limit / 2 ** 20).toFixed(0)} MiB): use a smaller image or batch`);
  return ctx.scope(() => {
    // 1. recompute: gn(x) -> tokens -> q, k, v -> P
    const gn = a.group_norm;
    const h = gn.forward(ctx, x);
    const tokens = transpose(ctx, h.view([N, C, L]));
    ctx.release(h);
    const q = a.to_q.forward(ctx, tokens), k = a.to_k.forward(ctx, tokens), v = a.to_v.forward(ctx, tokens);
    ctx.release(tokens);
    const scale = C ** -0.5;
    const P = attentionProbs(ctx, q, k, { heads: 1, scale });
    // 2. back: NCHW -> tokens (the adjoint of the output transpose), to_out, attention
    const da = transpose(ctx, dy.view([N, C, L]));
    const dO = linearBackward(ctx, da, a.to_out[0].weight);
    ctx.release(da);
    const g = attentionBackward(ctx, q, k, v, P, dO, { scale });
    ctx.release(dO, P, q, k, v);
    // 3. the three projections read the same tokens: their input gradients add
    const dq = linearBackward(ctx, g.dq, a.to_q.weight);
    const dqk = linearBackward(ctx, g.dk, a.to_k.weight, dq);
    const dt = linearBackward(ctx, g.dv, a.to_v.weight, dqk);
    ctx.release(g.dq, g.dk, g.dv, dq, dqk);
    // 4. tokens -> NCHW, the group norm, and the residual's gradient dy in its epilogue
    const dh = transpose(ctx, dt).view([N, C, H, W]);
    ctx.release(dt);
    return groupNormBackward(ctx, x, dh, gn.weight, gn.bias, { groups: gn.groups, eps: gn.eps, silu: false, acc: dy });
  });
}
