// diffusers models/attention_processor.py::Attention (AttnProcessor2_0 path, no norms, no mask):
// q = to_q(x), k = to_k(ctx ?? x), v = to_v(ctx ?? x); o = softmax(q k^T * scale) v per head;
// out = to_out.0(o). Q/K/V stay token-major [B, N, heads*D] as Linear produces them, and the
// flash-style kernel reads heads out of the channel dim, so no head transposes are needed.
import type { GpuContext } from '../gpu/context.js';
import { check, shapeStr, type GpuTensor } from '../gpu/tensor.js';
import { attention } from '../kernels/attention.js';
import type { Weights } from '../weights/weights.js';
import { Linear } from './linear.js';
import type { ParamOptions } from './param.js';

export interface AttentionOptions extends ParamOptions {
  heads: number;
  dimHead: number;
  /** channels of the cross-attention context (K/V input); default queryDim (self-attention) */
  crossAttentionDim?: number;
  /** q/k/v bias: 'auto' (default) uses it when present; SD UNet has none, the VAE has them */
  qkvBias?: boolean | 'auto';
  /** to_out.0 bias (default true) */
  outBias?: boolean;
  /** softmax scale; default dimHead^-0.5 */
  scale?: number;
  causal?: boolean;
}

/** Multi-head (cross-)attention; keys `to_q`, `to_k`, `to_v`, `to_out.0`. */
export class Attention {
  private constructor(readonly to_q: Linear, readonly to_k: Linear, readonly to_v: Linear,
                      readonly to_out: readonly [Linear],
                      readonly heads: number, readonly scale: number, readonly causal: boolean) {}

  static async load(ctx: GpuContext, w: Weights, queryDim: number, opts: AttentionOptions): Promise<Attention> {
    const inner = opts.heads * opts.dimHead;
    const kvDim = opts.crossAttentionDim ?? queryDim;
    const qkv = { ...opts, bias: opts.qkvBias ?? 'auto' };
    const [to_q, to_k, to_v, out0] = await Promise.all([
      Linear.load(ctx, w.at('to_q'), queryDim, inner, qkv),
      Linear.load(ctx, w.at('to_k'), kvDim, inner, qkv),
      Linear.load(ctx, w.at('to_v'), kvDim, inner, qkv),
      Linear.load(ctx, w.at('to_out', 0), inner, queryDim, { ...opts, bias: opts.outBias ?? true }),
    ]);
    return new Attention(to_q, to_k, to_v, [out0], opts.heads, opts.scale ?? opts.dimHead ** -0.5, opts.causal ?? false);
  }

  /**
   * x: [B, N, queryDim], context: [B, M, crossAttentionDim] (self-attention when omitted)
   * -> [B, N, queryDim]; `residual` [B, N, queryDim] is added in to_out's epilogue.
   */
  forward(ctx: GpuContext, x: GpuTensor, context?: GpuTensor, residual?: GpuTensor): GpuTensor {
    const kv = context ?? x;
    check(x.shape.length === 3 && kv.shape.length === 3 && kv.shape[0] === x.shape[0],
      `Attention: x ${shapeStr(x.shape)}, context ${shapeStr(kv.shape)}`);
    const q = ctx.within('to_q', () => this.to_q.forward(ctx, x));
    const k = ctx.within('to_k', () => this.to_k.forward(ctx, kv));
    const v = ctx.within('to_v', () => this.to_v.forward(ctx, kv));
    const o = attention(ctx, q, k, v, { heads: this.heads, scale: this.scale, causal: this.causal });
    ctx.release(q, k, v);
    const out = ctx.within('to_out.0', () => this.to_out[0].forward(ctx, o, residual));
    ctx.release(o);
    return out;
  }

  destroy(ctx: GpuContext): void {
    for (const l of [this.to_q, this.to_k, this.to_v, this.to_out[0]]) l.destroy(ctx);
  }
}
