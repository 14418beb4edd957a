// transformers models/clip/modeling_clip.py::CLIPTextModel, the SD 1.x text encoder:
//   embeddings (token + position) -> pre-LN encoder layers with a causal mask (src/clip) -> final_layer_norm
//   last_hidden_state [B, T, C]; pooler_output [B, C] = hidden state at the pooling position.
// The token embedding table ([49408, 768] = 152 MB in f32) is never bound on the GPU: it stays in
// host memory (in the weight storage precision) and the B x T rows a prompt needs are gathered on
// the CPU, added to the position embedding, and uploaded as one [B, T, C] tensor.
import { CLIP_TEXT_ATTENTION, CLIPEncoderLayer } from '../clip/index.js';
import type { GpuContext } from '../gpu/context.js';
import { f16BitsToF32 } from '../gpu/half.js';
import { check, type GpuTensor } from '../gpu/tensor.js';
import { LayerNorm } from '../nn/layer_norm.js';
import { loadModel, weightDtypeOf, type ParamOptions } from '../nn/param.js';
import { tapped, type Tap } from '../nn/tap.js';
import type { WeightRef, Weights } from '../weights/weights.js';
import type { CLIPTextConfig } from './clip_text_config.js';

/** An embedding table kept on the host: f32 values, or f16 bit patterns when weights are f16. */
export class HostEmbedding {
  private constructor(readonly table: Float32Array | Uint16Array, readonly rows: number, readonly dim: number) {}

  static async load(ctx: GpuContext, ref: WeightRef, opts: ParamOptions): Promise<HostEmbedding> {
    const [rows, dim] = ref.shape as [number, number];
    // Same rounding as a GPU weight of this model (torch `.half()` for f16).
    const table = weightDtypeOf(ctx, opts) === 'f16' ? await ref.readF16Bits() : await ref.readF32();
    return new HostEmbedding(table, rows, dim);
  }

  /** Adds row `id` (as f32) into out[at .. at + dim). */
  addRow(id: number, out: Float32Array, at: number): void {
    const t = this.table, o = id * this.dim;
    if (t instanceof Float32Array) for (let c = 0; c < this.dim; c++) out[at + c] += t[o + c]!;
    else for (let c = 0; c < this.dim; c++) out[at + c] += f16BitsToF32(t[o + c]!);
  }
}

/** CLIPTextEmbeddings: token_embedding.weight [vocab, C], position_embedding.weight [max_pos, C]. */
export class CLIPTextEmbeddings {
  private constructor(readonly token_embedding: HostEmbedding, readonly position_embedding: HostEmbedding) {}

  static async load(ctx: GpuContext, w: Weights, cfg: CLIPTextConfig, opts: ParamOptions): Promise<CLIPTextEmbeddings> {
    const tok = w.at('token_embedding').tensor('weight', [cfg.vocabSize, cfg.hiddenSize]);
    const pos = w.at('position_embedding').tensor('weight', [cfg.maxPositionEmbeddings, cfg.hiddenSize]);
    const [t, p] = await Promise.all([HostEmbedding.load(ctx, tok, opts), HostEmbedding.load(ctx, pos, opts)]);
    return new CLIPTextEmbeddings(t, p);
  }

  /** ids: B rows of T token ids -> [B, T, C] = token_embedding[ids] + position_embedding[0..T). */
  forward(ctx: GpuContext, ids: readonly (readonly number[])[], tap?: Tap): GpuTensor {
    const B = ids.length, T = ids[0]!.length, C = this.token_embedding.dim;
    const tok = new Float32Array(B * T * C), pos = new Float32Array(T * C);
    for (let t = 0; t < T; t++) this.position_embedding.addRow(t, pos, t * C);
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) this.token_embedding.addRow(ids[b]![t]!, tok, (b * T + t) * C);
    if (tap) {
      for (const [name, data, shape] of [['token_embedding', tok, [B, T, C]], ['position_embedding', pos, [1, T, C]]] as const) {
        const g = ctx.upload(data, shape);
        tap(name, g);
        ctx.release(g);
      }
    }
    // f32 sum, as torch does for f32 (and for f16 weights up to the final rounding)
    const x = tok;
    for (let i = 0; i < x.length; i++) x[i] = x[i]! + pos[i % (T * C)]!;
    return ctx.upload(x, [B, T, C]);
  }
}

export class CLIPEncoder {
  private constructor(readonly layers: readonly CLIPEncoderLayer[]) {}

  static async load(ctx: GpuContext, w: Weights, cfg: CLIPTextConfig, opts: ParamOptions): Promise<CLIPEncoder> {
    return new CLIPEncoder(await Promise.all(Array.from({ length: cfg.numHiddenLayers },
      (_, i) => CLIPEncoderLayer.load(ctx, w.at('layers', i), cfg, CLIP_TEXT_ATTENTION, opts))));
  }

  /** x: [B, T, C] -> [B, T, C]; x is not released. */
  forward(ctx: GpuContext, x: GpuTensor, tap?: Tap): GpuTensor {
    let h = x;
    this.layers.forEach((layer, i) => {
      const y = tapped(ctx, tap, `layers.${i}`, () => layer.forward(ctx, h, tap));
      if (h !== x) ctx.release(h);
      h = y;
    });
    return h;
  }

  destroy(ctx: GpuContext): void {
    for (const l of this.layers) l.destroy(ctx);
  }
}

export class CLIPTextTransformer {
  private constructor(readonly embeddings: CLIPTextEmbeddings, readonly encoder: CLIPEncoder, readonly final_layer_norm: LayerNorm) {}

  static async load(ctx: GpuContext, w: Weights, cfg: CLIPTextConfig, opts: ParamOptions): Promise<CLIPTextTransformer> {
    const [embeddings, encoder, final_layer_norm] = await Promise.all([
      CLIPTextEmbeddings.load(ctx, w.at('embeddings'), cfg, opts),
      CLIPEncoder.load(ctx, w.at('encoder'), cfg, opts),
      LayerNorm.load(ctx, w.at('final_layer_norm'), cfg.hiddenSize, { ...opts, eps: cfg.layerNormEps }),
    ] as const);
    return new CLIPTextTransformer(embeddings, encoder, final_layer_norm);
  }

  destroy(ctx: GpuContext): void {
    this.encoder.destroy(ctx);
    this.final_layer_norm.destroy(ctx);
  }
}

export interface CLIPTextOutput {
  /** [B, T, C] */
  last_hidden_state: GpuTensor;
  /** [B, C] */
  pooler_output: GpuTensor;
}

export class CLIPTextModel {
  private constructor(readonly text_model: CLIPTextTransformer, readonly config: CLIPTextConfig) {}

  /**
   * Builds the model from `w` (the transformers `text_encoder/` tree: keys start with `text_model.`)
   * in one pass; unused or missing keys fail (position_ids buffers are ignored).
   */
  static async load(ctx: GpuContext, w: Weights, config: CLIPTextConfig, opts: ParamOptions & { strict?: boolean } = {}): Promise<CLIPTextModel> {
    const o = { ...opts, weightDtype: weightDtypeOf(ctx, opts) };
    return loadModel(ctx, w, o, async (po) =>
      new CLIPTextModel(await CLIPTextTransformer.load(ctx, w.at('text_model'), config, { ...o, ...po }), config), opts.strict ?? true);
  }

  /** The row index pooled for each sequence (transformers' rule for this config's eos_token_id). */
  poolingIndex(ids: readonly number[]): number {
    if (this.config.eosTokenId === 2) {
      // legacy configs: argmax(input_ids), first occurrence (eos 49407 is the largest id)
      let best = 0;
      for (let t = 1; t < ids.length; t++) if (ids[t]! > ids[best]!) best = t;
      return best;
    }
    const i = ids.indexOf(this.config.eosTokenId);
    return i >= 0 ? i : ids.length - 1;
  }

  /** Checks a batch of token id rows: equal lengths, 1..max_position_embeddings, ids in the vocabulary. */
  checkIds(ids: readonly (readonly number[])[]): void {
    const { vocabSize, maxPositionEmbeddings } = this.config;
    check(ids.length > 0, 'CLIPTextModel: empty batch of input_ids');
    const T = ids[0]!.length;
    check(T > 0 && T <= maxPositionEmbeddings, `CLIPTextModel: sequence length ${T} outside 1..${maxPositionEmbeddings}`);
    ids.forEach((row, b) => {
      check(row.length === T, `CLIPTextModel: input_ids row ${b} has ${row.length} ids, row 0 has ${T}`);
      row.forEach((id, t) => check(Number.isInteger(id) && id >= 0 && id < vocabSize,
        `CLIPTextModel: input_ids[${b}][${t}] = ${id} is not a token id (vocabulary size ${vocabSize})`));
    });
  }

  /** input_ids: B rows of T (<= 77) ids -> last_hidden_state [B, T, C], pooler_output [B, C]. */
  forward(ctx: GpuContext, inputIds: readonly (readonly number[])[], tap?: Tap): CLIPTextOutput {
    this.checkIds(inputIds);
    const tm = this.text_model;
    return ctx.within('text_model', () => {
      // 1. embeddings (CPU gather), 2. encoder layers, 3. final layer norm
      const x = tapped(ctx, tap, 'embeddings', () => tm.embeddings.forward(ctx, inputIds, tap));
      const h = ctx.within('encoder', () => tm.encoder.forward(ctx, x, tap));
      if (h !== x) ctx.release(x);
      const last = tapped(ctx, tap, 'final_layer_norm', () => tm.final_layer_norm.forward(ctx, h));
      ctx.release(h);
      // 4. pooler: one row per sequence, copied on the GPU
      const [B, T, C] = last.shape as [number, number, number];
      const pooled = ctx.alloc([B, C], last.dtype);
      const rowBytes = C * 4;
      inputIds.forEach((row, b) => ctx.copy(last, pooled, (b * T + this.poolingIndex(row)) * rowBytes, b * rowBytes, rowBytes));
      return { last_hidden_state: last, pooler_output: pooled };
    });
  }

  destroy(ctx: GpuContext): void {
    this.text_model.destroy(ctx);
  }
}
