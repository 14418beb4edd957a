// diffusers models/attention_processor.py::Attention (AttnProcessor2_0 path, no norms, no mask):
// q = to_q(x), k = to_k(ctx ?? x), v = to_v(ctx ?? x); o = softmax(q k^T * scale) v per head;
// out = to_out.0(o). Q/K/V stay token-major [B, N, heads*D] as Linear produces them, and the
// flash-style kernel reads heads out of the channel dim, so no head transposes are needed.
import type { GpuContext } from '../gpu/context.js';
import { check, shapeStr, type GpuTensor } from '../gpu/tensor.js';
import { attention, attentionSlices } from '../kernels/attention.js';
import type { LnPrologue } from '../kernels/matmul.js';
import type { Weights } from '../weights/weights.js';
import { Linear } from './linear.js';
import { LinearBank } from './linear_bank.js';
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
  /** self-attention: run to_q/to_k/to_v as one GEMM over weights concatenated at load (the UNet) */
  fuseQkv?: boolean;
}

/** Multi-head (cross-)attention; keys `to_q`, `to_k`, `to_v`, `to_out.0`. */
export class Attention {
  /**
   * Set by the UNet for cross-attention: to_k and to_v are members `index`, `index + 1` of a bank
   * that projects the text context for every cross-attention at once, cached per context tensor
   * (the sampler calls the UNet many times with one context: K/V are computed once per prompt).
   */
  kvBank?: { bank: LinearBank; index: number };

  private constructor(readonly to_q: Linear, readonly to_k: Linear, readonly to_v: Linear,
                      readonly to_out: readonly [Linear],
                      readonly heads: number, readonly scale: number, readonly causal: boolean,
                      /** to_q | to_k | to_v as one [3C, C] weight (fuseQkv) */
                      readonly qkv?: LinearBank) {}

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
    const qkvBank = opts.fuseQkv && kvDim === queryDim ? LinearBank.build(ctx, [to_q, to_k, to_v], 1, opts.arena) : undefined;
    return new Attention(to_q, to_k, to_v, [out0], opts.heads, opts.scale ?? opts.dimHead ** -0.5, opts.causal ?? false, qkvBank);
  }

  /**
   * x: [B, N, queryDim], context: [B, M, crossAttentionDim] (self-attention when omitted)
   * -> [B, N, queryDim]; `residual` [B, N, queryDim] is added in to_out's epilogue.
   */
  forward(ctx: GpuContext, x: GpuTensor, context?: GpuTensor, residual?: GpuTensor, ln?: LnPrologue): GpuTensor {
    const kv = context ?? x;
    check(x.shape.length === 3 && kv.shape.length === 3 && kv.shape[0] === x.shape[0],
      `Attention: x ${shapeStr(x.shape)}, context ${shapeStr(kv.shape)}`);
    const opts = { heads: this.heads, scale: this.scale, causal: this.causal };
    const [B, N] = x.shape as [number, number, number];
    const inner = this.to_q.outFeatures, M = kv.shape[1]!;
    let o: GpuTensor;
    if (!context && this.qkv) {
      // one GEMM -> [B, N, 3*inner]; the attention kernel reads q, k, v as column slices of it
      const y = ctx.within('to_qkv', () => this.qkv!.forward(ctx, x, ln));
      const s = (i: number) => ({ t: y, off: i * inner, rowStride: 3 * inner });
      o = attentionSlices(ctx, s(0), s(1), s(2), { B, Nq: N, Nk: N, C: inner }, opts);
      ctx.release(y);
    } else if (context && this.kvBank) {
      const { bank, index } = this.kvBank;
      const kvAll = ctx.within('to_kv', () => bank.project(ctx, context));  // cached: kept by the bank
      const q = ctx.within('to_q', () => this.to_q.forward(ctx, x, undefined, { ln }));
      const s = (i: number) => ({ t: kvAll, off: bank.offsets[index + i]!, rowStride: bank.width });
      o = attentionSlices(ctx, { t: q, off: 0, rowStride: inner }, s(0), s(1), { B, Nq: N, Nk: M, C: inner }, opts);
      ctx.release(q);
    } else {
      check(!ln, 'Attention: a LayerNorm prologue needs the fused QKV or the K/V bank path');
      const q = ctx.within('to_q', () => this.to_q.forward(ctx, x));
      const k = ctx.within('to_k', () => this.to_k.forward(ctx, kv));
      const v = ctx.within('to_v', () => this.to_v.forward(ctx, kv));
      o = attention(ctx, q, k, v, opts);
      ctx.release(q, k, v);
    }
    const out = ctx.within('to_out.0', () => this.to_out[0].forward(ctx, o, residual));
    ctx.release(o);
    return out;
  }

  destroy(ctx: GpuContext): void {
    this.qkv?.destroy(ctx);
    for (const l of [this.to_q, this.to_k, this.to_v, this.to_out[0]]) l.destroy(ctx);
  }
}
