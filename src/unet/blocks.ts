// Options shared by the UNet's down, mid and up blocks.
import type { ParamOptions } from '../nn/param.js';

export interface BlockOptions extends ParamOptions {
  /** norm_num_groups / norm_eps of the resnets */
  groups: number;
  eps: number;
  /** channels of the time embedding */
  tembChannels: number;
  /** attention heads of this block's transformers (cross-attention blocks only) */
  heads: number;
  crossAttentionDim: number;
  /** transformer_layers_per_block */
  transformerLayers: number;
}

/** What a down block hands on: the hidden state (the last skip) and all its skip tensors. */
export interface DownOutput {
  hidden: import('../gpu/tensor.js').GpuTensor;
  skips: import('../gpu/tensor.js').GpuTensor[];
}
