// transformers models/clip/modeling_clip.py::CLIPEncoderLayer (pre-LayerNorm residual block), one
// class for the text encoder (causal) and the vision tower (with an explicit backward):
//   h1 = h + self_attn(layer_norm1(h));   h2 = h1 + mlp(layer_norm2(h1)),  mlp = fc2(quick_gelu(fc1(.)))
// Keys: layer_norm1, self_attn.{q,k,v,out}_proj, layer_norm2, mlp.fc1, mlp.fc2.
// Residual adds run in the matmul epilogues (forward) and in layer_norm_backward's `acc` (backward).
import type { GpuContext } from '../gpu/context.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { layerNormBackward } from '../kernels/layer_norm_backward.js';
import { LayerNorm } from '../nn/layer_norm.js';
import type { ParamOptions } from '../nn/param.js';
import { tapped, withResidual, type Tap } from '../nn/tap.js';
import type { Weights } from '../weights/weights.js';
import { CLIPAttention, type AttentionTape, type CLIPAttentionMode } from './clip_attention.js';
import { CLIPMLP, type MlpTape } from './clip_mlp.js';

/** The config fields a layer needs (CLIPTextConfig and ClipVisionConfig both have them). */
export interface CLIPEncoderLayerConfig { hiddenSize: number; intermediateSize: number; numAttentionHeads: number; layerNormEps: number }

/** One layer's saved activations: its input h, the attention tape, h1 (layer_norm2's input), fc1's output. */
export interface LayerTape extends AttentionTape, MlpTape { h: GpuTensor; h1: GpuTensor }

export class CLIPEncoderLayer {
  private constructor(readonly layer_norm1: LayerNorm, readonly self_attn: CLIPAttention,
                      readonly layer_norm2: LayerNorm, readonly mlp: CLIPMLP) {}

  /** w scoped to `...encoder.layers.{i}` */
  static async load(ctx: GpuContext, w: Weights, cfg: CLIPEncoderLayerConfig, mode: CLIPAttentionMode,
                    opts: ParamOptions): Promise<CLIPEncoderLayer> {
    const ln = { ...opts, eps: cfg.layerNormEps };
    const [ln1, attn, ln2, mlp] = await Promise.all([
      LayerNorm.load(ctx, w.at('layer_norm1'), cfg.hiddenSize, ln),
      CLIPAttention.load(ctx, w.at('self_attn'), cfg.hiddenSize, cfg.numAttentionHeads, mode, opts),
      LayerNorm.load(ctx, w.at('layer_norm2'), cfg.hiddenSize, ln),
      CLIPMLP.load(ctx, w.at('mlp'), cfg.hiddenSize, cfg.intermediateSize, opts),
    ] as const);
    return new CLIPEncoderLayer(ln1, attn, ln2, mlp);
  }

  /**
   * h: [N, T, D] -> [N, T, D]; h is not released. With `tape`, the activations the backward needs
   * are kept there (h included). A tap gets the un-added `self_attn` and `mlp` outputs.
   */
  forward(ctx: GpuContext, h: GpuTensor, tap?: Tap, tape?: Partial<LayerTape>): GpuTensor {
    // 1. self-attention block
    const a = tapped(ctx, tap, 'layer_norm1', () => this.layer_norm1.forward(ctx, h));
    const h1 = withResidual(ctx, tap, 'self_attn', h, (r) => this.self_attn.forward(ctx, a, r, tape));
    ctx.release(a);
    // 2. MLP block
    const b = tapped(ctx, tap, 'layer_norm2', () => this.layer_norm2.forward(ctx, h1));
    const h2 = withResidual(ctx, tap, 'mlp', h1, (r) => this.mlp.forward(ctx, b, r, tap, tape));
    ctx.release(b);
    if (tape) Object.assign(tape, { h, h1 });
    else ctx.release(h1);
    return h2;
  }

  /** d h2 [N, T, D] -> d h [N, T, D] */
  backward(ctx: GpuContext, dh2: GpuTensor, t: LayerTape): GpuTensor {
    // 2. MLP block: dh1 = dh2 + LN2'(mlp'(dh2))
    const db = this.mlp.backward(ctx, dh2, t);
    const dh1 = layerNormBackward(ctx, t.h1, db, this.layer_norm2.weight, this.layer_norm2.eps, dh2);
    ctx.release(db);
    // 1. self-attention block: dh = dh1 + LN1'(attn'(dh1))
    const da = this.self_attn.backward(ctx, dh1, t);
    const dh = layerNormBackward(ctx, t.h, da, this.layer_norm1.weight, this.layer_norm1.eps, dh1);
    ctx.release(da, dh1);
    return dh;
  }

  destroy(ctx: GpuContext): void {
    this.layer_norm1.destroy(ctx);
    this.self_attn.destroy(ctx);
    this.layer_norm2.destroy(ctx);
    this.mlp.destroy(ctx);
  }
}
