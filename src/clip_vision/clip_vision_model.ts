// transformers models/clip/modeling_clip.py::CLIPVisionTransformer, truncated after the encoder
// layers a caller needs (the style features are hidden_states[3], the output of encoder.layers[2]:
// later layers and post_layernorm cannot influence them and are neither loaded nor uploaded),
// with an explicit reverse pass from the last computed hidden state back to pixel_values.
//   hidden_states[0] = pre_layrnorm(embeddings(pixel_values)); hidden_states[k] = layers[k-1](hidden_states[k-1])
import { CLIP_VISION_ATTENTION, CLIPEncoderLayer, type LayerTape } from '../clip/index.js';
import type { GpuContext } from '../gpu/context.js';
import { check, shapeStr, type GpuTensor } from '../gpu/tensor.js';
import { layerNormBackward } from '../kernels/layer_norm_backward.js';
import { LayerNorm } from '../nn/layer_norm.js';
import { loadModel, type ParamOptions } from '../nn/param.js';
import type { Weights } from '../weights/weights.js';
import { CLIPVisionEmbeddings } from './clip_vision_embeddings.js';
import { numTokens, type ClipVisionConfig } from './config.js';

/** Activations of one forward kept for the backward; free with ClipVisionModel.releaseTape. */
export interface ClipTape { emb?: GpuTensor; layers: Partial<LayerTape>[] }

export class ClipVisionModel {
  private constructor(readonly config: ClipVisionConfig, readonly embeddings: CLIPVisionEmbeddings,
                      readonly pre_layrnorm: LayerNorm, readonly layers: readonly CLIPEncoderLayer[]) {}

  /** Number of encoder layers loaded: hidden_states[0..numLayers] can be computed. */
  get numLayers(): number { return this.layers.length; }

  /**
   * Builds the tower from `weights` (keys `vision_model.*`), loading encoder layers 0..numLayers-1
   * only. `weights` must hold exactly those keys (see clipVisionWeights): every one is consumed.
   */
  static async load(ctx: GpuContext, weights: Weights, config: ClipVisionConfig, numLayers: number,
                    opts: ParamOptions = {}): Promise<ClipVisionModel> {
    check(Number.isInteger(numLayers) && numLayers >= 0 && numLayers <= config.numHiddenLayers,
      `CLIP vision: ${numLayers} layers asked for, the model has ${config.numHiddenLayers}`);
    return loadModel(ctx, weights, opts, async (o) => {
      const w = weights.at('vision_model');
      const [emb, pre, ...layers] = await Promise.all([
        CLIPVisionEmbeddings.load(ctx, w.at('embeddings'), config, o),
        LayerNorm.load(ctx, w.at('pre_layrnorm'), config.hiddenSize, { ...o, eps: config.layerNormEps }),
        ...Array.from({ length: numLayers }, (_, i) => CLIPEncoderLayer.load(ctx, w.at('encoder', 'layers', i), config, CLIP_VISION_ATTENTION, o)),
      ]);
      return new ClipVisionModel(config, emb as CLIPVisionEmbeddings, pre as LayerNorm, layers as CLIPEncoderLayer[]);
    });
  }

  /**
   * pixel_values [N, C, S, S] (already resized and normalised) -> hidden_states[upTo] [N, T, D].
   * With `tape`, every activation the backward needs is kept (the intermediate hidden states too).
   */
  forward(ctx: GpuContext, pixelValues: GpuTensor, upTo = this.numLayers, tape?: ClipTape): GpuTensor {
    const S = this.config.imageSize;
    check(pixelValues.shape.length === 4 && pixelValues.shape[1] === this.config.numChannels && pixelValues.shape[2] === S && pixelValues.shape[3] === S,
      `CLIP vision: pixel_values must be [N, ${this.config.numChannels}, ${S}, ${S}], got ${shapeStr(pixelValues.shape)}`);
    check(upTo >= 0 && upTo <= this.numLayers, `CLIP vision: hidden_states[${upTo}] needs ${upTo} layers, ${this.numLayers} loaded`);
    const emb = ctx.within('embeddings', () => this.embeddings.forward(ctx, pixelValues));
    let h = ctx.within('pre_layrnorm', () => this.pre_layrnorm.forward(ctx, emb));
    if (tape) tape.emb = emb;
    else ctx.release(emb);
    for (let i = 0; i < upTo; i++) {
      const t: Partial<LayerTape> | undefined = tape ? {} : undefined;
      const next = ctx.within(`encoder.layers.${i}`, () => this.layers[i].forward(ctx, h, undefined, t));
      if (tape) tape.layers.push(t!);
      else ctx.release(h);
      h = next;
    }
    return h;
  }

  /** d hidden_states[tape.layers.length] [N, T, D] -> d pixel_values [N, C, S, S]; the tape stays alive. */
  backward(ctx: GpuContext, dHidden: GpuTensor, tape: ClipTape): GpuTensor {
    check(tape.emb !== undefined, 'CLIP vision backward: the forward kept no tape');
    let dh = dHidden;
    for (let i = tape.layers.length - 1; i >= 0; i--) {
      const next = ctx.within(`encoder.layers.${i}`, () => this.layers[i].backward(ctx, dh, tape.layers[i] as LayerTape));
      if (dh !== dHidden) ctx.release(dh);
      dh = next;
    }
    const dEmb = layerNormBackward(ctx, tape.emb, dh, this.pre_layrnorm.weight, this.pre_layrnorm.eps);
    if (dh !== dHidden) ctx.release(dh);
    const dPixels = this.embeddings.backward(ctx, dEmb);
    ctx.release(dEmb);
    return dPixels;
  }

  /** Frees a tape's activations (each layer's input h is the previous layer's output: freed once). */
  releaseTape(ctx: GpuContext, tape: ClipTape): void {
    ctx.release(tape.emb);
    for (const t of tape.layers) ctx.release(t.h, t.q, t.k, t.v, t.P, t.h1, t.f1);
    tape.emb = undefined;
    tape.layers = [];
  }

  get tokens(): number { return numTokens(this.config); }

  destroy(ctx: GpuContext): void {
    this.embeddings.destroy(ctx);
    this.pre_layrnorm.destroy(ctx);
    for (const l of this.layers) l.destroy(ctx);
  }
}
