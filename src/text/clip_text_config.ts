// CLIPTextConfig: the transformers text_encoder/config.json fields SD 1.x uses.
// SD 1.4 (openai/clip-vit-large-patch14): sd14_configs/text_encoder/config.json.

export interface CLIPTextConfig {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  maxPositionEmbeddings: number;
  layerNormEps: number;
  /**
   * Pooling position: transformers uses argmax(input_ids) when eos_token_id == 2 (the legacy
   * config value SD 1.x ships; the real eos id 49407 is the largest id), else the first eos.
   */
  eosTokenId: number;
}

export const SD14_TEXT_ENCODER: CLIPTextConfig = {
  vocabSize: 49408, hiddenSize: 768, intermediateSize: 3072, numHiddenLayers: 12, numAttentionHeads: 12,
  maxPositionEmbeddings: 77, layerNormEps: 1e-5, eosTokenId: 2,
};

type Json = Record<string, unknown>;

/** Parses and checks a transformers CLIPTextConfig config.json (text or parsed object). */
export function parseClipTextConfig(src: string | Json, name = 'text_encoder/config.json'): CLIPTextConfig {
  let j: Json;
  try {
    j = typeof src === 'string' ? (JSON.parse(src) as Json) : src;
  } catch (e) {
    throw new Error(`${name}: invalid JSON (${(e as Error).message})`);
  }
  if (typeof j !== 'object' || j === null) throw new Error(`${name}: not a JSON object`);
  // A full CLIPModel config nests the text part.
  if (typeof j['text_config'] === 'object' && j['text_config'] !== null && j['hidden_size'] === undefined) j = j['text_config'] as Json;
  const int = (key: string, fallback?: number): number => {
    const v = j[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new Error(`${name}: "${key}" must be a non-negative integer (got ${JSON.stringify(j[key])})`);
    return v;
  };
  const act = j['hidden_act'] ?? 'quick_gelu';
  if (act !== 'quick_gelu') throw new Error(`${name}: hidden_act ${JSON.stringify(act)} is not supported (SD 1.x's CLIP uses quick_gelu)`);
  const eps = j['layer_norm_eps'] ?? 1e-5;
  if (typeof eps !== 'number' || !(eps > 0)) throw new Error(`${name}: "layer_norm_eps" must be a positive number`);
  const cfg: CLIPTextConfig = {
    vocabSize: int('vocab_size', 49408),
    hiddenSize: int('hidden_size', 512),
    intermediateSize: int('intermediate_size', 2048),
    numHiddenLayers: int('num_hidden_layers', 12),
    numAttentionHeads: int('num_attention_heads', 8),
    maxPositionEmbeddings: int('max_position_embeddings', 77),
    layerNormEps: eps,
    eosTokenId: int('eos_token_id', 2),
  };
  if (cfg.hiddenSize === 0 || cfg.numAttentionHeads === 0 || cfg.hiddenSize % cfg.numAttentionHeads !== 0) {
    throw new Error(`${name}: hidden_size ${cfg.hiddenSize} is not divisible by num_attention_heads ${cfg.numAttentionHeads}`);
  }
  return cfg;
}
