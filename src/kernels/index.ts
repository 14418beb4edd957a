// Every kernel op, by file (the explicit list; params_layout.test.ts checks that each WGSL file
// has a wrapper). Ops take a GpuContext first and return a new GpuTensor; see docs/kernel_api.md.
export { add, axpby, broadcastOf, clamp, ELEMENTWISE_OPS, elementwiseKernel, mul, scale, sub, unary } from './elementwise.js';
export type { Broadcast, ElementwiseOp, UnaryOp } from './elementwise.js';
export { axpbyScaled, axpbyScaledKernel } from './axpby_scaled.js';
export { axisMatmul, axisMatmulKernel } from './axis_matmul.js';
export {
  GROUP_NORM_CHUNK, groupNorm, groupNormAlgorithm, groupNormApplyKernel, groupNormKernel, groupNormStatsKernel,
  groupNormVec4Kernel, groupNormWorkgroup,
} from './group_norm.js';
export type { GroupNormAlgorithm, GroupNormOptions } from './group_norm.js';
export { layerNorm, layerNormKernel, layerNormSizes, layerNormVec4Kernel } from './layer_norm.js';
export type { LayerNormTuning } from './layer_norm.js';
export { geglu, gegluKernel } from './geglu.js';
export { transpose, transposeKernel } from './transpose.js';
export { upsampleNearest, upsampleNearestKernel } from './upsample_nearest.js';
export { concatChannels, concatKernel } from './concat.js';
export { timestepEmbedding, timestepEmbeddingKernel, timestepFrequencies } from './timestep_embedding.js';
export type { TimestepEmbeddingOptions } from './timestep_embedding.js';
export { maxAbs, maxAbsPerSample, reduceMaxAbsFinalKernel, reduceMaxAbsKernel } from './reduce.js';
export { concat0, copyRangeKernel, fill, fillKernel, slice0 } from './tensor_ops.js';
// The style path (CLIP vision features, Gram loss) and its explicit backward pass.
export { bilinearResize, bilinearResizeKernel, bilinearTable } from './bilinear_resize.js';
export { bilinearResizeBackward, bilinearResizeBackwardKernel } from './bilinear_resize_backward.js';
export { CLIP_MEAN, CLIP_STD, clipNormalize, clipNormalizeKernel } from './clip_normalize.js';
export { clipNormalizeBackward, clipNormalizeBackwardKernel } from './clip_normalize_backward.js';
export { patchEmbed, patchEmbedKernel } from './patch_embed.js';
export { patchEmbedBackward, patchEmbedBackwardKernel } from './patch_embed_backward.js';
export { layerNormBackward, layerNormBackwardKernel } from './layer_norm_backward.js';
export { linearBackward } from './linear_backward.js';
export { quickGeluBackward, quickGeluBackwardKernel } from './quick_gelu_backward.js';
export { attentionProbs, attentionProbsKernel, attentionPv, attentionPvKernel } from './attention_probs.js';
export type { AttentionProbsOptions } from './attention_probs.js';
export { attentionBackward, attentionBackwardKernel, attentionBackwardScoresKernel } from './attention_backward.js';
export type { AttentionGrads } from './attention_backward.js';
export { gram, gramKernel } from './gram.js';
export { gramBackward, gramBackwardKernel } from './gram_backward.js';
export { frobeniusLoss, frobeniusLossKernel } from './frobenius_loss.js';
export { frobeniusLossBackward, frobeniusLossBackwardKernel } from './frobenius_loss_backward.js';
// Input gradients for the UNet's vector-Jacobian product (w.r.t. the latent; no weight gradients).
// Layer norm and linear reuse layerNormBackward / linearBackward above; the batch concat0's
// adjoint is slice0 and a transpose's is a transpose, so those need nothing new.
export { conv2dBackward, conv2dBackwardKernel, conv2dBackwardVariant, conv2dWeightFlipKernel, flipConvWeights } from './conv2d_backward.js';
export type { Conv2dBackwardOptions, Conv2dBackwardVariant } from './conv2d_backward.js';
export { groupNormBackward, groupNormBackwardApplyKernel, groupNormBackwardKernel, groupNormBackwardSumsKernel } from './group_norm_backward.js';
export type { GroupNormBackwardAlgorithm, GroupNormBackwardOptions } from './group_norm_backward.js';
export { gegluBackward, gegluBackwardKernel } from './geglu_backward.js';
export { upsampleNearestBackward, upsampleNearestBackwardKernel } from './upsample_nearest_backward.js';
export { splitChannels } from './concat_backward.js';
export {
  attentionFlashBackward, attentionFlashDkvKernel, attentionFlashDkvSgKernel, attentionFlashDqKernel, attentionFlashDqSgKernel,
} from './attention_flash_backward.js';
export type { FlashBackwardOptions, FlashGrads } from './attention_flash_backward.js';
