// SD 1.x UNet2DConditionModel and its blocks; class and field names are diffusers'.
export { parseUNetConfig, SD14_UNET, type UNet2DConditionConfig } from './config.js';
export { UNet2DConditionModel, type CaptureFn, type UNetLoadOptions } from './unet_2d_condition.js';
export { ResnetBlock2D } from '../nn/resnet_block_2d.js'; // shared with the VAE
export { Transformer2DModel } from './transformer_2d.js';
export { BasicTransformerBlock } from './basic_transformer_block.js';
export { FeedForward, GEGLU } from './feed_forward.js';
export { CrossAttnDownBlock2D } from './cross_attn_down_block_2d.js';
export { DownBlock2D } from './down_block_2d.js';
export { CrossAttnUpBlock2D } from './cross_attn_up_block_2d.js';
export { UpBlock2D } from './up_block_2d.js';
export { UNetMidBlock2DCrossAttn } from './unet_mid_block_2d_cross_attn.js';
export { Downsample2D } from './downsample_2d.js';
export { Upsample2D } from './upsample_2d.js';
export { TimestepEmbedding, Timesteps } from './embeddings.js';
