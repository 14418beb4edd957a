// diffusers models/attention.py::BasicTransformerBlock, SD 1.x path (norm_type "layer_norm",
// no ada-norm, not only-cross-attention): pre-LayerNorm self-attention, cross-attention, GEGLU FF,
// each with a residual. Works on tokens [B, N, C].
import type { GpuContext } from '../gpu/context.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { Attention } from '../nn/attention.js';
import { LayerNorm } from '../nn/layer_norm.js';
import type { ParamOptions } from '../nn/param.js';
import type { Weights } from '../weights/weights.js';
import { FeedForward } from './feed_forward.js';
import { tapped, withResidual, type Tap } from '../nn/tap.js';

export interface TransformerBlockOptions extends ParamOptions {
  heads: number;
  dimHead: number;
  crossAttentionDim: number;
}

export class BasicTransformerBlock {
  private constructor(readonly norm1: LayerNorm, readonly attn1: Attention, readonly norm2: LayerNorm,
                      readonly attn2: Attention, readonly norm3: LayerNorm, readonly ff: FeedForward) {}

  /** w is scoped to `…transformer_blocks.{k}`; dim = heads * dimHead. */
  static async load(ctx: GpuContext, w: Weights, dim: number, opts: TransformerBlockOptions): Promise<BasicTransformerBlock> {
    const attn = { weightDtype: opts.weightDtype, arena: opts.arena, heads: opts.heads, dimHead: opts.dimHead, qkvBias: 'auto' as const };
    const m = await Promise.all([
      LayerNorm.load(ctx, w.at('norm1'), dim, { ...opts, eps: 1e-5 }),
      Attention.load(ctx, w.at('attn1'), dim, { ...attn, fuseQkv: true }),
      LayerNorm.load(ctx, w.at('norm2'), dim, { ...opts, eps: 1e-5 }),
      Attention.load(ctx, w.at('attn2'), dim, { ...attn, crossAttentionDim: opts.crossAttentionDim }),
      LayerNorm.load(ctx, w.at('norm3'), dim, { ...opts, eps: 1e-5 }),
      FeedForward.load(ctx, w.at('ff'), dim, opts),
    ] as const);
    return new BasicTransformerBlock(...m);
  }

  /** x: [B, N, C], context: [B, M, Ccross] -> [B, N, C]. x is not released. */
  forward(ctx: GpuContext, x: GpuTensor, context: GpuTensor, tap?: Tap): GpuTensor {
    if (!tap) return this.forwardFused(ctx, x, context);
    // 1. self-attention
    let n = tapped(ctx, tap, 'norm1', () => this.norm1.forward(ctx, x));
    const h1 = withResidual(ctx, tap, 'attn1', x, (r) => this.attn1.forward(ctx, n, undefined, r));
    ctx.release(n);
    // 2. cross-attention (K/V from the text encoder states)
    n = tapped(ctx, tap, 'norm2', () => this.norm2.forward(ctx, h1));
    const h2 = withResidual(ctx, tap, 'attn2', h1, (r) => this.attn2.forward(ctx, n, context, r));
    ctx.release(n, h1);
    // 3. feed-forward
    n = tapped(ctx, tap, 'norm3', () => this.norm3.forward(ctx, h2));
    const h3 = withResidual(ctx, tap, 'ff', h2, (r) => this.ff.forward(ctx, n, r));
    ctx.release(n, h2);
    return h3;
  }

  /**
   * forward without taps: each LayerNorm is the prologue of the GEMM after it (fused QKV, to_q,
   * GEGLU proj) and every residual rides in an epilogue: 9 dispatches per block (attention,
   * projections, FF), none for the norms, adds or GEGLU.
   */
  private forwardFused(ctx: GpuContext, x: GpuTensor, context: GpuTensor): GpuTensor {
    const h1 = ctx.within('attn1', () => this.attn1.forward(ctx, x, undefined, x, this.norm1.prologue));
    const h2 = ctx.within('attn2', () => this.attn2.forward(ctx, h1, context, h1, this.norm2.prologue));
    ctx.release(h1);
    const h3 = ctx.within('ff', () => this.ff.forwardFused(ctx, h2, h2, this.norm3.prologue));
    ctx.release(h2);
    return h3;
  }

  destroy(ctx: GpuContext): void {
    for (const m of [this.norm1, this.attn1, this.norm2, this.attn2, this.norm3, this.ff]) m.destroy(ctx);
  }
}
