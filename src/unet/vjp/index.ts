// The UNet's vector-Jacobian product w.r.t. its latent input (issue 15): tape forward + backward walk.
export { recordUNetTape, unetVjp, type UNetTape } from './unet_vjp.js';
export { basicTransformerBlockVjp, transformer2dVjp } from './transformer_vjp.js';
export { convVjp, downsampleVjp, normVjp, resnetVjp, upsampleVjp } from './layer_vjp.js';
