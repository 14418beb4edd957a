// transformers' CLIPVisionConfig, the fields the vision tower's forward uses. Accepts a
// CLIPVisionModel config.json, or a full CLIPModel config.json (its `vision_config`), or infers
// the sizes from the checkpoint's tensor shapes when no config is at hand.
// https://huggingface.co/openai/clip-vit-base-patch16/blob/main/config.json

export interface ClipVisionConfig {
  hiddenSize: number;
  intermediateSize: number;
  numAttentionHeads: number;
  numHiddenLayers: number;
  imageSize: number;
  patchSize: number;
  numChannels: number;
  layerNormEps: number;
}

/** openai/clip-vit-base-patch16's vision tower (ViT-B/16 at 224 px: 197 tokens of width 768). */
export const CLIP_VIT_B16: ClipVisionConfig = {
  hiddenSize: 768, intermediateSize: 3072, numAttentionHeads: 12, numHiddenLayers: 12,
  imageSize: 224, patchSize: 16, numChannels: 3, layerNormEps: 1e-5,
};

/** transformers' defaults for keys a config.json leaves out (CLIPVisionConfig.__init__). */
const DEFAULTS: Record<string, number | string> = {
  hidden_size: 768, intermediate_size: 3072, num_attention_heads: 12, num_hidden_layers: 12,
  image_size: 224, patch_size: 32, num_channels: 3, layer_norm_eps: 1e-5, hidden_act: 'quick_gelu',
};

export function parseClipVisionConfig(json: unknown, source = 'config.json'): ClipVisionConfig {
  if (typeof json !== 'object' || json === null) throw new Error(`${source}: not a JSON object`);
  let c = json as Record<string, unknown>;
  // a CLIPModel config nests the tower under vision_config; hub files written by older
  // transformers also carry (or only carry) vision_config_dict: both count, vision_config winning
  const obj = (v: unknown) => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined);
  const nested = obj(c.vision_config), legacy = obj(c.vision_config_dict);
  if (nested || legacy) c = { ...legacy, ...nested };
  const get = (k: string) => c[k] ?? DEFAULTS[k];
  const num = (k: string) => {
    const v = get(k);
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new Error(`${source}: ${k} must be a positive number (got ${JSON.stringify(v)})`);
    return v;
  };
  if (get('hidden_act') !== 'quick_gelu') {
    throw new Error(`${source}: hidden_act '${String(get('hidden_act'))}' is not supported (CLIP vision towers use quick_gelu)`);
  }
  const cfg: ClipVisionConfig = {
    hiddenSize: num('hidden_size'), intermediateSize: num('intermediate_size'), numAttentionHeads: num('num_attention_heads'),
    numHiddenLayers: num('num_hidden_layers'), imageSize: num('image_size'), patchSize: num('patch_size'),
    numChannels: num('num_channels'), layerNormEps: num('layer_norm_eps'),
  };
  checkConfig(cfg, source);
  return cfg;
}

export function checkConfig(cfg: ClipVisionConfig, source: string): void {
  if (cfg.hiddenSize % cfg.numAttentionHeads) throw new Error(`${source}: hidden_size ${cfg.hiddenSize} is not a multiple of num_attention_heads ${cfg.numAttentionHeads}`);
  if (cfg.imageSize % cfg.patchSize) throw new Error(`${source}: image_size ${cfg.imageSize} is not a multiple of patch_size ${cfg.patchSize}`);
  if (cfg.numChannels !== 3) throw new Error(`${source}: num_channels ${cfg.numChannels}; the style path feeds RGB images`);
}

/** Tokens per image: the class token plus one per patch. */
export const numTokens = (cfg: ClipVisionConfig): number => 1 + (cfg.imageSize / cfg.patchSize) ** 2;

/**
 * Sizes read off the checkpoint (keys under `vision_model.`), for files that come without a
 * config. The head count is not in any shape: head_dim 64 is assumed (true of every OpenAI CLIP
 * ViT: B/32, B/16, L/14); pass a config for anything else.
 */
export function inferClipVisionConfig(shapeOf: (key: string) => readonly number[] | undefined, layerCount: number): ClipVisionConfig {
  const need = (k: string) => {
    const s = shapeOf(`vision_model.${k}`);
    if (!s) throw new Error(`cannot infer the CLIP vision config: no tensor vision_model.${k}`);
    return s;
  };
  const [D, C, p] = need('embeddings.patch_embedding.weight');
  const [T] = need('embeddings.position_embedding.weight');
  const [inter] = need('encoder.layers.0.mlp.fc1.weight');
  const grid = Math.round(Math.sqrt(T - 1));
  if (grid * grid !== T - 1) throw new Error(`cannot infer the CLIP vision config: ${T} positions are not 1 + a square`);
  const cfg: ClipVisionConfig = {
    hiddenSize: D, intermediateSize: inter, numAttentionHeads: D / 64, numHiddenLayers: layerCount,
    imageSize: grid * p, patchSize: p, numChannels: C, layerNormEps: 1e-5,
  };
  if (!Number.isInteger(cfg.numAttentionHeads)) throw new Error(`cannot infer the head count of width ${D} (not a multiple of 64): give a config.json`);
  checkConfig(cfg, 'inferred CLIP vision config');
  return cfg;
}
