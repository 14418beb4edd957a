// transformers models/clip/modeling_clip.py::CLIPAttention, shared by the text encoder and the
// vision tower: q = q_proj(x) * scale, k = k_proj(x), v = v_proj(x); o = softmax(q k^T) v per
// head; out_proj(o). All four projections have biases. The two towers differ only in how the
// softmax runs (CLIPAttentionMode), and the vision tower also needs the backward.
import type { GpuContext } from '../gpu/context.js';
import { check, type GpuTensor } from '../gpu/tensor.js';
import { attention } from '../kernels/attention.js';
import { attentionBackward } from '../kernels/attention_backward.js';
import { attentionProbs, attentionPv } from '../kernels/attention_probs.js';
import { linearBackward } from '../kernels/linear_backward.js';
import { Linear } from '../nn/linear.js';
import type { ParamOptions } from '../nn/param.js';
import type { Weights } from '../weights/weights.js';

/**
 * How self-attention runs. Text: causal (token i sees 0..i; SD passes no padding mask), through
 * the flash kernel that never materialises the scores. Vision: bidirectional with the
 * probabilities P materialised (197 tokens: 12 x 197 x 197 floats per image), because the
 * backward reads them; forward-only calls use the same P so that a reference image's features
 * are computed exactly as the optimised image's.
 */
export interface CLIPAttentionMode { causal: boolean; materializeProbs: boolean }
export const CLIP_TEXT_ATTENTION: CLIPAttentionMode = { causal: true, materializeProbs: false };
export const CLIP_VISION_ATTENTION: CLIPAttentionMode = { causal: false, materializeProbs: true };

/** What the backward needs from one forward: the projections and the probabilities. */
export interface AttentionTape { q: GpuTensor; k: GpuTensor; v: GpuTensor; P: GpuTensor }

export class CLIPAttention {
  private constructor(readonly q_proj: Linear, readonly k_proj: Linear, readonly v_proj: Linear, readonly out_proj: Linear,
                      readonly heads: number, readonly scale: number, readonly mode: CLIPAttentionMode) {}

  /** w scoped to `...layers.{i}.self_attn`; D = hidden_size */
  static async load(ctx: GpuContext, w: Weights, D: number, heads: number, mode: CLIPAttentionMode,
                    opts: ParamOptions): Promise<CLIPAttention> {
    const [q, k, v, o] = await Promise.all(['q_proj', 'k_proj', 'v_proj', 'out_proj'].map((n) => Linear.load(ctx, w.at(n), D, D, opts)));
    return new CLIPAttention(q!, k!, v!, o!, heads, (D / heads) ** -0.5, mode);
  }

  /**
   * x: [N, T, D] (layer_norm1 output) -> [N, T, D]; `residual` is added in out_proj's epilogue.
   * With `tape`, q/k/v/P are kept there for the backward; otherwise released.
   */
  forward(ctx: GpuContext, x: GpuTensor, residual?: GpuTensor, tape?: Partial<AttentionTape>): GpuTensor {
    const q = ctx.within('q_proj', () => this.q_proj.forward(ctx, x));
    const k = ctx.within('k_proj', () => this.k_proj.forward(ctx, x));
    const v = ctx.within('v_proj', () => this.v_proj.forward(ctx, x));
    let o: GpuTensor, P: GpuTensor | undefined;
    if (this.mode.materializeProbs || tape) {
      check(!this.mode.causal, 'CLIPAttention: materialised probabilities (and the backward) are implemented without the causal mask');
      P = attentionProbs(ctx, q, k, { heads: this.heads, scale: this.scale });
      o = attentionPv(ctx, P, v);
    } else {
      o = attention(ctx, q, k, v, { heads: this.heads, scale: this.scale, causal: this.mode.causal });
    }
    const out = ctx.within('out_proj', () => this.out_proj.forward(ctx, o, residual));
    ctx.release(o);
    if (tape) Object.assign(tape, { q, k, v, P });
    else ctx.release(q, k, v, P);
    return out;
  }

  /** d output [N, T, D] -> d x (the layer_norm1 output) [N, T, D] */
  backward(ctx: GpuContext, dOut: GpuTensor, tape: AttentionTape): GpuTensor {
    const dO = linearBackward(ctx, dOut, this.out_proj.weight);
    const g = attentionBackward(ctx, tape.q, tape.k, tape.v, tape.P, dO, { scale: this.scale });
    const dq = linearBackward(ctx, g.dq, this.q_proj.weight);
    const dqk = linearBackward(ctx, g.dk, this.k_proj.weight, dq);
    const dx = linearBackward(ctx, g.dv, this.v_proj.weight, dqk);
    ctx.release(dO, g.dq, g.dk, g.dv, dq, dqk);
    return dx;
  }

  destroy(ctx: GpuContext): void {
    for (const l of [this.q_proj, this.k_proj, this.v_proj, this.out_proj]) l.destroy(ctx);
  }
}
