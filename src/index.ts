// tether-sd: the public, browser-safe surface. Everything not exported here is internal.
// Node adds path loading and PNG files in 'tether-sd/node' (src/node.ts).
export { SdPipeline, type OpenOptions, type PipelineRequest, type PipelineResult, type PipelineSource, type RunOptions } from './pipeline/sd_pipeline.js';
export type { LoadProgress } from './pipeline/load_progress.js';
export {
  TASKS, TASK_IDS, LIMITS, validateRequest, assertValid, RequestError,
  type TaskId, type TaskDefinition, type TaskDefaults, type Problem, type CfgForm,
} from './pipeline/task_registry.js';
export type { ImageData4, InpaintSpace } from './pipeline/tasks.js';
export { rgbaToTensor, tensorToRgba, maskFromRgba, type RgbaImage } from './pipeline/image.js';
export { createGpuContext, adapterName, NoAdapterError, type DeviceOptions } from './gpu/device.js';
export type { GpuContext } from './gpu/context.js';
export { seededNoise, recordedNoise, type NoiseSource } from './sampler/noise.js';
export type { Progress, Method, Schedule } from './sampler/types.js';
export { Tracer } from './sampler/tracer.js';
export { blobByteSource, bufferByteSource, fetchByteSource, type ByteSource } from './weights/byte_source.js';
export { fileListModelFiles, directoryHandleModelFiles, type ModelFiles } from './weights/model_source.js';
export { urlModelFiles } from './weights/url_model_files.js';
export { loadClipVision, type ClipFiles } from './clip_vision/load.js';
export { ClipStyleLoss } from './clip_vision/style_loss.js';
export { TETHER_VERSION } from './version.js';
