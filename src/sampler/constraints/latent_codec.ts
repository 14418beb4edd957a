// The sampler's view of the VAE: scaled latents in, images out, and back. Implemented by the
// pipeline over AutoencoderKL; the sampler never imports the model classes.
import type { GpuContext } from '../../gpu/context.js';
import type { GpuTensor } from '../../gpu/tensor.js';

export interface LatentCodec {
  /** SD 1.4: 0.18215 */
  readonly scalingFactor: number;
  /** VAE down-sampling factor (8 for SD 1.4) */
  readonly factor: number;
  /** scaled latent z [N, 4, h, w] -> image D(z / scalingFactor) [N, 3, fh, fw] */
  decode(ctx: GpuContext, z: GpuTensor): Promise<GpuTensor>;
  /** image [N, 3, H, W] -> scalingFactor * E(image).mean */
  encode(ctx: GpuContext, image: GpuTensor): Promise<GpuTensor>;
  /**
   * The decode's vector-Jacobian product w.r.t. the scaled latent at an image-dependent u:
   * (d decode / d z)^T uOf(decode(z)), [N, 3, fH, fW] -> [N, 4, h, w] (includes the
   * 1 / scalingFactor), decoding z once for both. For method 'dps' and pull-back 'decoder' on
   * pixel-space constraints; absent where the VAE has no VJP. uOf's image is the codec's.
   */
  decodeGradient?(ctx: GpuContext, z: GpuTensor, uOf: (image: GpuTensor) => Promise<GpuTensor>): Promise<GpuTensor>;
}
