// diffusers models/upsampling.py::Upsample2D with use_conv=True: nearest-neighbour upsampling
// to 2x, or to `outputSize` (the next skip tensor's size, which diffusers passes as upsample_size
// when the latent is not divisible by 8), then a 3x3 conv with padding 1.
import type { GpuContext } from '../gpu/context.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { conv2d } from '../kernels/conv2d.js';
import { upsampleNearest } from '../kernels/upsample_nearest.js';
import { Conv2d } from '../nn/conv2d.js';
import type { ParamOptions } from '../nn/param.js';
import type { Weights } from '../weights/weights.js';

export class Upsample2D {
  private constructor(readonly conv: Conv2d) {}

  /** w is scoped to `…upsamplers.0`. */
  static async load(ctx: GpuContext, w: Weights, channels: number, opts: ParamOptions = {}): Promise<Upsample2D> {
    return new Upsample2D(await Conv2d.load(ctx, w.at('conv'), channels, channels, 3, { ...opts, pad: 1 }));
  }

  /** x: [N, C, H, W] -> [N, C, outH, outW] (default 2H, 2W) */
  forward(ctx: GpuContext, x: GpuTensor, outputSize?: readonly [number, number]): GpuTensor {
    const [outH, outW] = outputSize ?? [2 * x.shape[2]!, 2 * x.shape[3]!];
    if (outH === 2 * x.shape[2]! && outW === 2 * x.shape[3]!) {
      // exact 2x (latents divisible by 8): the conv reads x through the upsampling, no 4x copy
      const c = this.conv;
      return ctx.within('conv', () => conv2d(ctx, x, c.weight, c.bias, { stride: c.stride, pad: c.pad, upsample2x: true }));
    }
    const u = upsampleNearest(ctx, x, outH, outW);
    const y = ctx.within('conv', () => this.conv.forward(ctx, u));
    ctx.release(u);
    return y;
  }

  destroy(ctx: GpuContext): void { this.conv.destroy(ctx); }
}
