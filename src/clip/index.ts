// The CLIP transformer layer shared by the text encoder (src/text) and the vision tower
// (src/clip_vision); class and field names are transformers'.
export { CLIP_TEXT_ATTENTION, CLIP_VISION_ATTENTION, CLIPAttention, type AttentionTape, type CLIPAttentionMode } from './clip_attention.js';
export { CLIPMLP, type MlpTape } from './clip_mlp.js';
export { CLIPEncoderLayer, type CLIPEncoderLayerConfig, type LayerTape } from './clip_encoder_layer.js';
