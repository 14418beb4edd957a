// The VAE decoder's vector-Jacobian product w.r.t. its latent input (issue 15): tape forward + backward walk.
export { decoderGradient, decoderVjp, recordDecoderTape, type DecoderTape } from './decoder_vjp.js';
export { vaeAttentionVjp } from './attention_vjp.js';
