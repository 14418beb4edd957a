// Browser-safe public surface of the weight loader. Node-only helpers are imported from their
// own files so bundles never see node:fs: byte_source_node.ts (fileByteSource),
// model_source_node.ts (nodeModelFiles), safetensors_write_node.ts (writeSafetensorsAtomic).
export { blobByteSource, bufferByteSource, fetchByteSource, type ByteSource, type FetchByteSourceOptions } from './byte_source.js';
export { DTYPE_SIZE, f16BitsToF32, f32ToF16Bits, f16ArrayToF32, f32ArrayToF16, bf16ArrayToF32, type Dtype } from './dtype.js';
export { openSafetensors, MAX_HEADER_BYTES, type SafetensorsFile, type TensorInfo } from './safetensors.js';
export { encodeSafetensors, type TensorToWrite, type WritableDtype } from './safetensors_write.js';
export { Weights, DEFAULT_IGNORE, type WeightRef, type WeightsOptions } from './weights.js';
export { renameLegacyVaeKey, vaeViewShape, vaeConvShape } from './aliases.js';
export {
  COMPONENTS, LDM_PREFIX, SD1_LAYOUT, diffusersToLdm, ldmToDiffusers, diffusersShapeToLdm, ldmShapeToDiffusers,
  layoutFromConfigs, layoutFromDiffusersKeys, layoutFromLdmKeys, type Component, type LdmLayout,
} from './keymap_ldm.js';
export {
  directoryHandleModelFiles, fileListModelFiles, loadComponentWeights, loadSingleFileWeights, normalizeRelPath,
  type ComponentLoadOptions, type DirectoryHandleLike, type ModelFiles, type SingleFileWeights,
} from './model_source.js';
export { inferLdmConfigs, type InferredConfigs } from './infer_ldm_config.js';
export { parseLdmYaml, schedulerConfigFromLdm, type LdmOriginalConfig } from './ldm_yaml.js';
