// diffusers models/upsampling.py::Upsample2D with use_conv=True: nearest-neighbour upsampling
// to 2x, or to `outputSize` (the next skip tensor's size, which diffusers passes as upsample_size
// when the latent is not divisible by 8), then a 3x3 conv with padding 1.
import type { GpuContext } from '../gpu/context.js';
import type { GpuTensor } from '../gpu/tensor.js';
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
    const u = upsampleNearest(ctx, x, outH, outW);
    const y = ctx.within('conv', () => this.conv.forward(ctx, u));
    ctx.release(u);
    return y;
  }

  destroy(ctx: GpuContext): void { this.conv.destroy(ctx); }
}
