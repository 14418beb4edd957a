// transformers models/clip/modeling_clip.py::CLIPEncoderLayer (pre-LayerNorm):
//   x = x + out_proj(attn(layer_norm1(x)))  with causal self-attention, scale head_dim^-0.5
//   x = x + fc2(quick_gelu(fc1(layer_norm2(x))))
// Keys: layer_norm1, self_attn.{q,k,v,out}_proj, layer_norm2, mlp.fc1, mlp.fc2.
import type { GpuContext } from '../gpu/context.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { attention } from '../kernels/attention.js';
import { add, unary } from '../kernels/elementwise.js';
import { LayerNorm } from '../nn/layer_norm.js';
import { Linear } from '../nn/linear.js';
import type { ParamOptions } from '../nn/param.js';
import { tapped, type Tap } from '../nn/tap.js';
import type { Weights } from '../weights/weights.js';
import type { CLIPTextConfig } from './clip_text_config.js';

/** CLIPAttention; q/k/v/out projections all have biases. */
export class CLIPAttention {
  private constructor(readonly q_proj: Linear, readonly k_proj: Linear, readonly v_proj: Linear, readonly out_proj: Linear,
                      readonly heads: number, readonly scale: number) {}

  static async load(ctx: GpuContext, w: Weights, cfg: CLIPTextConfig, opts: ParamOptions): Promise<CLIPAttention> {
    const C = cfg.hiddenSize;
    const [q, k, v, o] = await Promise.all(['q_proj', 'k_proj', 'v_proj', 'out_proj'].map((n) => Linear.load(ctx, w.at(n), C, C, opts)));
    return new CLIPAttention(q!, k!, v!, o!, cfg.numAttentionHeads, (C / cfg.numAttentionHeads) ** -0.5);
  }

  /** x: [B, T, C] -> [B, T, C]; `residual` is added in out_proj's epilogue. */
  forward(ctx: GpuContext, x: GpuTensor, residual?: GpuTensor): GpuTensor {
    const q = ctx.within('q_proj', () => this.q_proj.forward(ctx, x));
    const k = ctx.within('k_proj', () => this.k_proj.forward(ctx, x));
    const v = ctx.within('v_proj', () => this.v_proj.forward(ctx, x));
    // causal: token i attends to tokens 0..i (SD passes no padding mask)
    const o = attention(ctx, q, k, v, { heads: this.heads, scale: this.scale, causal: true });
    ctx.release(q, k, v);
    const y = ctx.within('out_proj', () => this.out_proj.forward(ctx, o, residual));
    ctx.release(o);
    return y;
  }

  destroy(ctx: GpuContext): void {
    for (const l of [this.q_proj, this.k_proj, this.v_proj, this.out_proj]) l.destroy(ctx);
  }
}

/** CLIPMLP: fc1 -> quick_gelu -> fc2. */
export class CLIPMLP {
  private constructor(readonly fc1: Linear, readonly fc2: Linear) {}

  static async load(ctx: GpuContext, w: Weights, cfg: CLIPTextConfig, opts: ParamOptions): Promise<CLIPMLP> {
    const [fc1, fc2] = await Promise.all([
      Linear.load(ctx, w.at('fc1'), cfg.hiddenSize, cfg.intermediateSize, opts),
      Linear.load(ctx, w.at('fc2'), cfg.intermediateSize, cfg.hiddenSize, opts),
    ]);
    return new CLIPMLP(fc1, fc2);
  }

  /** x: [B, T, C] -> [B, T, C]; `residual` is added in fc2's epilogue. */
  forward(ctx: GpuContext, x: GpuTensor, residual?: GpuTensor, tap?: Tap): GpuTensor {
    const h = tapped(ctx, tap, 'fc1', () => this.fc1.forward(ctx, x));
    unary(ctx, 'quick_gelu', h, h);
    const y = ctx.within('fc2', () => this.fc2.forward(ctx, h, residual));
    ctx.release(h);
    return y;
  }

  destroy(ctx: GpuContext): void {
    this.fc1.destroy(ctx);
    this.fc2.destroy(ctx);
  }
}

export class CLIPEncoderLayer {
  private constructor(readonly layer_norm1: LayerNorm, readonly self_attn: CLIPAttention,
                      readonly layer_norm2: LayerNorm, readonly mlp: CLIPMLP) {}

  static async load(ctx: GpuContext, w: Weights, cfg: CLIPTextConfig, opts: ParamOptions): Promise<CLIPEncoderLayer> {
    const ln = { ...opts, eps: cfg.layerNormEps };
    const [ln1, attn, ln2, mlp] = await Promise.all([
      LayerNorm.load(ctx, w.at('layer_norm1'), cfg.hiddenSize, ln),
      CLIPAttention.load(ctx, w.at('self_attn'), cfg, opts),
      LayerNorm.load(ctx, w.at('layer_norm2'), cfg.hiddenSize, ln),
      CLIPMLP.load(ctx, w.at('mlp'), cfg, opts),
    ] as const);
    return new CLIPEncoderLayer(ln1, attn, ln2, mlp);
  }

  /**
   * x: [B, T, C] -> [B, T, C]; x is not released. Residual adds are fused into out_proj / fc2
   * unless a tap wants the un-added `self_attn` and `mlp` outputs.
   */
  forward(ctx: GpuContext, x: GpuTensor, tap?: Tap): GpuTensor {
    // 1. self-attention block
    let n = tapped(ctx, tap, 'layer_norm1', () => this.layer_norm1.forward(ctx, x));
    let h: GpuTensor;
    if (tap) {
      const a = tapped(ctx, tap, 'self_attn', () => this.self_attn.forward(ctx, n));
      h = add(ctx, a, x, a);
    } else {
      h = ctx.within('self_attn', () => this.self_attn.forward(ctx, n, x));
    }
    ctx.release(n);
    // 2. MLP block
    n = tapped(ctx, tap, 'layer_norm2', () => this.layer_norm2.forward(ctx, h));
    let y: GpuTensor;
    if (tap) {
      const m = tapped(ctx, tap, 'mlp', () => this.mlp.forward(ctx, n, undefined, tap));
      y = add(ctx, m, h, m);
    } else {
      y = ctx.within('mlp', () => this.mlp.forward(ctx, n, h));
    }
    ctx.release(n, h);
    return y;
  }

  destroy(ctx: GpuContext): void {
    this.layer_norm1.destroy(ctx);
    this.self_attn.destroy(ctx);
    this.layer_norm2.destroy(ctx);
    this.mlp.destroy(ctx);
  }
}
