// transformers models/clip/modeling_clip.py::CLIPAttention (eager path, no mask), vision side:
// q = q_proj(x) * scale, k = k_proj(x), v = v_proj(x); o = softmax(q k^T) v per head; out_proj(o).
// The probabilities are materialised (197 tokens: 12 x 197 x 197 floats per image), because the
// backward needs them; forward and backward read the same P.
import type { GpuContext } from '../gpu/context.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { attentionBackward } from '../kernels/attention_backward.js';
import { attentionProbs, attentionPv } from '../kernels/attention_probs.js';
import { linearBackward } from '../kernels/linear_backward.js';
import { Linear } from '../nn/linear.js';
import type { ParamOptions } from '../nn/param.js';
import type { Weights } from '../weights/weights.js';

/** What the backward needs from one forward: the projections and the probabilities. */
export interface AttentionTape { q: GpuTensor; k: GpuTensor; v: GpuTensor; P: GpuTensor }

export class CLIPAttention {
  private constructor(readonly k_proj: Linear, readonly v_proj: Linear, readonly q_proj: Linear, readonly out_proj: Linear,
                      readonly heads: number, readonly scale: number) {}

  /** w scoped to `...layers.{i}.self_attn` */
  static async load(ctx: GpuContext, w: Weights, D: number, heads: number, opts: ParamOptions): Promise<CLIPAttention> {
    const [k, v, q, o] = await Promise.all(['k_proj', 'v_proj', 'q_proj', 'out_proj'].map((n) => Linear.load(ctx, w.at(n), D, D, opts)));
    return new CLIPAttention(k, v, q, o, heads, (D / heads) ** -0.5);
  }

  /**
   * x: [N, T, D] (layer_norm1 output), residual: [N, T, D] added in out_proj's epilogue -> [N, T, D].
   * With `tape`, q/k/v/P are kept there for the backward; otherwise released.
   */
  forward(ctx: GpuContext, x: GpuTensor, residual: GpuTensor, tape?: Partial<AttentionTape>): GpuTensor {
    const q = ctx.within('q_proj', () => this.q_proj.forward(ctx, x));
    const k = ctx.within('k_proj', () => this.k_proj.forward(ctx, x));
    const v = ctx.within('v_proj', () => this.v_proj.forward(ctx, x));
    const P = attentionProbs(ctx, q, k, { heads: this.heads, scale: this.scale });
    const o = attentionPv(ctx, P, v);
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
    for (const l of [this.k_proj, this.v_proj, this.q_proj, this.out_proj]) l.destroy(ctx);
  }
}
