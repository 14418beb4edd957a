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
}
