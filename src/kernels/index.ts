// Every kernel op, by file (the explicit list; params_layout.test.ts checks that each WGSL file
// has a wrapper). Ops take a GpuContext first and return a new GpuTensor; see docs/kernel_api.md.
export { add, axpby, broadcastOf, clamp, ELEMENTWISE_OPS, elementwiseKernel, mul, scale, sub, unary } from './elementwise.js';
export type { Broadcast, ElementwiseOp, UnaryOp } from './elementwise.js';
export { axpbyScaled, axpbyScaledKernel } from './axpby_scaled.js';
export { axisMatmul, axisMatmulKernel } from './axis_matmul.js';
export {
  GROUP_NORM_CHUNK, groupNorm, groupNormAlgorithm, groupNormApplyKernel, groupNormKernel, groupNormStatsKernel, groupNormVec4Kernel,
} from './group_norm.js';
export type { GroupNormAlgorithm, GroupNormOptions } from './group_norm.js';
export { layerNorm, layerNormKernel, layerNormSizes, layerNormVec4Kernel } from './layer_norm.js';
export { geglu, gegluKernel } from './geglu.js';
export { transpose, transposeKernel } from './transpose.js';
export { upsampleNearest, upsampleNearestKernel } from './upsample_nearest.js';
export { concatChannels, concatKernel } from './concat.js';
export { timestepEmbedding, timestepEmbeddingKernel, timestepFrequencies } from './timestep_embedding.js';
export type { TimestepEmbeddingOptions } from './timestep_embedding.js';
export type { LayerNormTuning } from './layer_norm.js';
export { maxAbs, maxAbsPerSample, reduceMaxAbsFinalKernel, reduceMaxAbsKernel } from './reduce.js';
export { concat0, copyRangeKernel, fill, fillKernel, slice0 } from './tensor_ops.js';
