// Input gradients of the UNet's Transformer2DModel and BasicTransformerBlock (ours; issue 15),
// w.r.t. the hidden states only: the text context (cross-attention K/V) is a constant, so
// cross-attention needs dQ only. Per-layer checkpointing: from the saved layer input, the forward
// is recomputed once, keeping what the backward reads (norm inputs, q/k/v, the GEGLU projection),
// then walked back. Attention probabilities are never stored (flash backward, two passes).
import type { GpuContext } from '../../gpu/context.js';
import { check, DTYPE_BYTES, type GpuTensor } from '../../gpu/tensor.js';
import { attention } from '../../kernels/attention.js';
import { attentionFlashBackward } from '../../kernels/attention_flash_backward.js';
import { gegluBackward } from '../../kernels/geglu_backward.js';
import { groupNorm } from '../../kernels/group_norm.js';
import { layerNorm } from '../../kernels/layer_norm.js';
import { layerNormBackward } from '../../kernels/layer_norm_backward.js';
import { linearBackward } from '../../kernels/linear_backward.js';
import { linear } from '../../kernels/matmul.js';
import { transpose } from '../../kernels/transpose.js';
import type { Attention } from '../../nn/attention.js';
import type { BasicTransformerBlock } from '../basic_transformer_block.js';
import type { Transformer2DModel } from '../transformer_2d.js';
import { convVjp, normVjp } from './layer_vjp.js';

interface AttnSaved { q: GpuTensor; k: GpuTensor; v: GpuTensor }

/** attn(x, kv) + residual, keeping q, k, v for the backward. */
function attnForward(ctx: GpuContext, a: Attention, x: GpuTensor, kv: GpuTensor, residual: GpuTensor): AttnSaved & { y: GpuTensor } {
  const q = linear(ctx, x, a.to_q.weight, a.to_q.bias);
  const k = linear(ctx, kv, a.to_k.weight, a.to_k.bias);
  const v = linear(ctx, kv, a.to_v.weight, a.to_v.bias);
  const o = attention(ctx, q, k, v, { heads: a.heads, scale: a.scale, causal: a.causal });
  const y = linear(ctx, o, a.to_out[0].weight, a.to_out[0].bias, { residual });
  ctx.release(o);
  return { q, k, v, y };
}

/** d(attn output) -> d(attention input x); self-attention differentiates K and V too (same x). */
function attnVjp(ctx: GpuContext, a: Attention, s: AttnSaved, dy: GpuTensor, self: boolean): GpuTensor {
  check(!a.causal, 'UNet VJP: causal attention is not differentiated (the UNet has none)');
  const dO = linearBackward(ctx, dy, a.to_out[0].weight);
  const g = attentionFlashBackward(ctx, s.q, s.k, s.v, dO, { heads: a.heads, scale: a.scale, grads: self ? 'qkv' : 'q' });
  ctx.release(dO, g.stats);
  let dx = linearBackward(ctx, g.dq, a.to_q.weight);
  ctx.release(g.dq);
  if (self) {
    const dk = linearBackward(ctx, g.dk!, a.to_k.weight, dx);
    ctx.release(dx, g.dk);
    dx = linearBackward(ctx, g.dv!, a.to_v.weight, dk);
    ctx.release(dk, g.dv);
  }
  return dx;
}

/**
 * BasicTransformerBlock: h1 = x + attn1(ln1 x); h2 = h1 + attn2(ln2 h1, c); y = h2 + ff(ln3 h2),
 * ff(n) = W2 (p[:F] * gelu(p[F:])) + b2 with p = W1 n + b1.  x [B, N, C], dy [B, N, C] -> dx.
 */
export function basicTransformerBlockVjp(ctx: GpuContext, blk: BasicTransformerBlock, x: GpuTensor, context: GpuTensor,
                                         dy: GpuTensor): GpuTensor {
  const ff = blk.ff, proj = ff.net[0].proj;
  const rows = x.size / ff.dim;
  const maxBytes = Math.min(ctx.limits.maxStorageBufferBindingSize, ctx.limits.maxBufferSize);
  check(rows * 2 * ff.inner * DTYPE_BYTES[x.dtype] <= maxBytes,
    `UNet VJP: the GEGLU projection of ${rows} tokens does not fit one storage binding (use a smaller batch)`);
  return ctx.scope(() => {
    // 1. recompute, keeping the backward's inputs
    const n1 = layerNorm(ctx, x, blk.norm1.weight, blk.norm1.bias, blk.norm1.eps);
    const a1 = attnForward(ctx, blk.attn1, n1, n1, x);
    ctx.release(n1);
    const n2 = layerNorm(ctx, a1.y, blk.norm2.weight, blk.norm2.bias, blk.norm2.eps);
    const a2 = attnForward(ctx, blk.attn2, n2, context, a1.y);
    ctx.release(n2);
    const n3 = layerNorm(ctx, a2.y, blk.norm3.weight, blk.norm3.bias, blk.norm3.eps);
    const p = linear(ctx, n3, proj.weight, proj.bias);
    ctx.release(n3);
    // 2. feed-forward back
    const dg = linearBackward(ctx, dy, ff.net[2].weight);
    const dp = gegluBackward(ctx, p, dg);
    ctx.release(dg, p);
    const dn3 = linearBackward(ctx, dp, proj.weight);
    ctx.release(dp);
    const dh2 = layerNormBackward(ctx, a2.y, dn3, blk.norm3.weight, blk.norm3.eps, dy);
    ctx.release(dn3, a2.y);
    // 3. cross-attention back (dQ only: K, V come from the constant text context)
    const dn2 = attnVjp(ctx, blk.attn2, a2, dh2, false);
    ctx.release(a2.q, a2.k, a2.v);
    const dh1 = layerNormBackward(ctx, a1.y, dn2, blk.norm2.weight, blk.norm2.eps, dh2);
    ctx.release(dn2, dh2, a1.y);
    // 4. self-attention back
    const dn1 = attnVjp(ctx, blk.attn1, a1, dh1, true);
    ctx.release(a1.q, a1.k, a1.v);
    const dx = layerNormBackward(ctx, x, dn1, blk.norm1.weight, blk.norm1.eps, dh1);
    ctx.release(dn1, dh1);
    return dx;
  });
}

/**
 * Transformer2DModel: y = x + proj_out(T(blocks(T(proj_in(gn(x)))))), T the NCHW <-> tokens
 * transpose (its adjoint is the opposite transpose). x, dy [B, C, H, W] -> dx.
 * Recomputed: the token input of every block (the block recomputes its own internals).
 */
export function transformer2dVjp(ctx: GpuContext, m: Transformer2DModel, x: GpuTensor, context: GpuTensor, dy: GpuTensor): GpuTensor {
  const [B, C, H, W] = x.shape as [number, number, number, number];
  return ctx.scope(() => {
    const n = groupNorm(ctx, x, m.norm.weight, m.norm.bias, { groups: m.norm.groups, eps: m.norm.eps, silu: false });
    const p = convForward(ctx, m.proj_in, n);
    ctx.release(n);
    const inputs: GpuTensor[] = [transpose(ctx, p.view([B, C, H * W]))];
    ctx.release(p);
    m.transformer_blocks.forEach((b, k) => { if (k < m.transformer_blocks.length - 1) inputs.push(b.forward(ctx, inputs[k]!, context)); });
    // back: proj_out (1x1) -> tokens -> blocks in reverse -> NCHW -> proj_in -> gn, + dy (the residual)
    const dback = convVjp(ctx, m.proj_out, x.shape, dy);
    let dt = transpose(ctx, dback.view([B, C, H * W]));
    ctx.release(dback);
    for (let k = m.transformer_blocks.length - 1; k >= 0; k--) {
      const d = basicTransformerBlockVjp(ctx, m.transformer_blocks[k]!, inputs[k]!, context, dt);
      ctx.release(dt, inputs[k]);
      dt = d;
    }
    const dp = transpose(ctx, dt).view([B, C, H, W]);
    ctx.release(dt);
    const dn = convVjp(ctx, m.proj_in, x.shape, dp);
    ctx.release(dp);
    const dx = normVjp(ctx, m.norm, x, dn, false, dy);
    ctx.release(dn);
    return dx;
  });
}

function convForward(ctx: GpuContext, c: Transformer2DModel['proj_in'], x: GpuTensor): GpuTensor {
  return c.forward(ctx, x);
}
