// transformers models/clip/modeling_clip.py::CLIPEncoderLayer (pre-norm residual block) with
// CLIPMLP (fc1 -> quick_gelu -> fc2), and its explicit backward:
//   h1 = h + self_attn(layer_norm1(h));   h2 = h1 + fc2(quick_gelu(fc1(layer_norm2(h1))))
// Residual adds run in the matmul epilogues (forward) and in layer_norm_backward's `acc` (backward).
import type { GpuContext } from '../gpu/context.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { unary } from '../kernels/elementwise.js';
import { layerNormBackward } from '../kernels/layer_norm_backward.js';
import { linearBackward } from '../kernels/linear_backward.js';
import { quickGeluBackward } from '../kernels/quick_gelu_backward.js';
import { LayerNorm } from '../nn/layer_norm.js';
import { Linear } from '../nn/linear.js';
import type { ParamOptions } from '../nn/param.js';
import type { Weights } from '../weights/weights.js';
import { CLIPAttention, type AttentionTape } from './clip_attention.js';
import type { ClipVisionConfig } from './config.js';

/** One layer's saved activations: its input h, the attention tape, h1 (layer_norm2's input), fc1's output. */
export interface LayerTape extends AttentionTape { h: GpuTensor; h1: GpuTensor; f1: GpuTensor }

export class CLIPMLP {
  private constructor(readonly fc1: Linear, readonly fc2: Linear) {}

  static async load(ctx: GpuContext, w: Weights, cfg: ClipVisionConfig, opts: ParamOptions): Promise<CLIPMLP> {
    const [fc1, fc2] = await Promise.all([
      Linear.load(ctx, w.at('fc1'), cfg.hiddenSize, cfg.intermediateSize, opts),
      Linear.load(ctx, w.at('fc2'), cfg.intermediateSize, cfg.hiddenSize, opts),
    ]);
    return new CLIPMLP(fc1, fc2);
  }

  destroy(ctx: GpuContext): void {
    this.fc1.destroy(ctx);
    this.fc2.destroy(ctx);
  }
}

export class CLIPEncoderLayer {
  private constructor(readonly self_attn: CLIPAttention, readonly layer_norm1: LayerNorm, readonly mlp: CLIPMLP,
                      readonly layer_norm2: LayerNorm) {}

  /** w scoped to `vision_model.encoder.layers.{i}` */
  static async load(ctx: GpuContext, w: Weights, cfg: ClipVisionConfig, opts: ParamOptions): Promise<CLIPEncoderLayer> {
    const eps = cfg.layerNormEps;
    const [attn, ln1, mlp, ln2] = await Promise.all([
      CLIPAttention.load(ctx, w.at('self_attn'), cfg.hiddenSize, cfg.numAttentionHeads, opts),
      LayerNorm.load(ctx, w.at('layer_norm1'), cfg.hiddenSize, { ...opts, eps }),
      CLIPMLP.load(ctx, w.at('mlp'), cfg, opts),
      LayerNorm.load(ctx, w.at('layer_norm2'), cfg.hiddenSize, { ...opts, eps }),
    ]);
    return new CLIPEncoderLayer(attn, ln1, mlp, ln2);
  }

  /** h: [N, T, D] -> [N, T, D]; with `tape`, the activations the backward needs are kept there (h included). */
  forward(ctx: GpuContext, h: GpuTensor, tape?: Partial<LayerTape>): GpuTensor {
    // 1. self-attention block
    const a = ctx.within('layer_norm1', () => this.layer_norm1.forward(ctx, h));
    const h1 = ctx.within('self_attn', () => this.self_attn.forward(ctx, a, h, tape));
    ctx.release(a);
    // 2. MLP block
    const b = ctx.within('layer_norm2', () => this.layer_norm2.forward(ctx, h1));
    const f1 = ctx.within('mlp.fc1', () => this.mlp.fc1.forward(ctx, b));
    ctx.release(b);
    const g = unary(ctx, 'quick_gelu', f1);
    const h2 = ctx.within('mlp.fc2', () => this.mlp.fc2.forward(ctx, g, h1));
    ctx.release(g);
    if (tape) Object.assign(tape, { h, h1, f1 });
    else ctx.release(h1, f1);
    return h2;
  }

  /** d h2 [N, T, D] -> d h [N, T, D] */
  backward(ctx: GpuContext, dh2: GpuTensor, t: LayerTape): GpuTensor {
    const eps = this.layer_norm1.eps;
    // 2. MLP block: dh1 = dh2 + LN2'(fc1'(quick_gelu'(fc2'(dh2))))
    const dg = linearBackward(ctx, dh2, this.mlp.fc2.weight);
    const df1 = quickGeluBackward(ctx, t.f1, dg);
    const db = linearBackward(ctx, df1, this.mlp.fc1.weight);
    const dh1 = layerNormBackward(ctx, t.h1, db, this.layer_norm2.weight, this.layer_norm2.eps, dh2);
    ctx.release(dg, df1, db);
    // 1. self-attention block: dh = dh1 + LN1'(attn'(dh1))
    const da = this.self_attn.backward(ctx, dh1, t);
    const dh = layerNormBackward(ctx, t.h, da, this.layer_norm1.weight, eps, dh1);
    ctx.release(da, dh1);
    return dh;
  }

  destroy(ctx: GpuContext): void {
    this.self_attn.destroy(ctx);
    this.layer_norm1.destroy(ctx);
    this.mlp.destroy(ctx);
    this.layer_norm2.destroy(ctx);
  }
}
