// CLIP vision tower (transformers layout) truncated for the style features, and the style loss
// with its explicit backward. Browser-safe; load.ts reads a tower from any ModelFiles, and the
// Node `--clip PATH` wrapper is load_node.ts.
export { CLIP_VIT_B16, checkConfig, inferClipVisionConfig, numTokens, parseClipVisionConfig, type ClipVisionConfig } from './config.js';
export { CLIPVisionEmbeddings } from './clip_vision_embeddings.js';
// the encoder layer is shared with the text encoder
export { CLIPAttention, CLIPEncoderLayer, CLIPMLP, type AttentionTape, type LayerTape } from '../clip/index.js';
export { ClipVisionModel, type ClipTape } from './clip_vision_model.js';
export {
  checkClipLayout, clipVisionWeights, countLayers, shapeLookup, summarizeClipKeys, usedByTruncatedTower, type ClipKeySummary,
} from './weights.js';
export {
  clipConfigFromJson, loadClipVision, openClipFiles, type ClipFiles, type ClipLoadOptions, type ClipLoadSummary, type OpenedClip,
} from './load.js';
export { ClipStyleLoss, STYLE_HIDDEN_STATE, type StyleEval } from './style_loss.js';
