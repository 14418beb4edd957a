// Inpainting in latent space (official): d = M_lat * (z_y - x0), where z_y = 0.18215 * E(image * M)
// (encoder mean) and M_lat = 1 only on latent cells whose whole f x f pixel patch is known
// (f = the VAE's down-sampling factor, 8 for SD 1.4), copied to every latent channel.
import type { GpuContext } from '../../gpu/context.js';
import type { GpuTensor } from '../../gpu/tensor.js';
import { add, axpby, mul, sub } from '../../kernels/elementwise.js';
import type { Constraint } from './constraint.js';

/**
 * Pixel mask [N, H, W] (1 = known) -> latent mask [N, channels, H/f, W/f]: a cell is known only
 * when all f x f pixels under it are (the golden's avg_pool2d(mask, f) == 1).
 */
export function latentMask(mask: Float32Array, N: number, H: number, W: number, factor: number, channels: number): Float32Array {
  if (H % factor || W % factor) throw new Error(`mask ${H}x${W} is not a multiple of the VAE factor ${factor}`);
  const h = H / factor, w = W / factor;
  const out = new Float32Array(N * channels * h * w);
  for (let n = 0; n < N; n++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
    let known = 1;
    for (let y = 0; y < factor && known; y++) for (let x = 0; x < factor; x++) {
      if (mask[(n * H + i * factor + y) * W + j * factor + x] !== 1) { known = 0; break; }
    }
    for (let c = 0; c < channels; c++) out[((n * channels + c) * h + i) * w + j] = known;
  }
  return out;
}

export class InpaintConstraint implements Constraint {
  readonly name = 'inpaint';
  /** zY: [N, 4, h, w] scaled latent of the masked image; maskLat: [N, 4, h, w] of 0/1 */
  constructor(readonly zY: GpuTensor, readonly maskLat: GpuTensor) {}

  async direction(ctx: GpuContext, x0: GpuTensor): Promise<GpuTensor> {
    const e = sub(ctx, this.zY, x0);
    const d = mul(ctx, e, this.maskLat);
    ctx.release(e);
    return d;
  }

  /** d is already the exact gradient: -grad_{x0} 1/2 ||M_lat (z_y - x0)||^2 = M_lat (z_y - x0) (M_lat is 0/1). */
  gradient(ctx: GpuContext, x0: GpuTensor): Promise<GpuTensor> {
    return this.direction(ctx, x0);
  }

  /** x <- x + M * (sqrtAb * z_y + sqrt(1 - ab) * z - x): known cells replaced by the noised z_y. */
  replaceKnown(ctx: GpuContext, x: GpuTensor, sqrtAb: number, sqrtOneMinusAb: number, z: GpuTensor): GpuTensor {
    const known = axpby(ctx, sqrtAb, this.zY, sqrtOneMinusAb, z);
    const diff = sub(ctx, known, x);
    const masked = mul(ctx, diff, this.maskLat);
    const y = add(ctx, x, masked);
    ctx.release(known, diff, masked);
    return y;
  }

  destroy(ctx: GpuContext): void {
    ctx.release(this.zY, this.maskLat);
  }
}
