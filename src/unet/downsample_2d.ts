// diffusers models/downsampling.py::Downsample2D with use_conv=True: 3x3 conv, stride 2,
// padding = downsample_padding (1 in SD 1.x).
import type { GpuContext } from '../gpu/context.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { Conv2d } from '../nn/conv2d.js';
import type { ParamOptions } from '../nn/param.js';
import type { Weights } from '../weights/weights.js';

export class Downsample2D {
  private constructor(readonly conv: Conv2d) {}

  /** w is scoped to `…downsamplers.0`. */
  static async load(ctx: GpuContext, w: Weights, channels: number, padding: number, opts: ParamOptions = {}): Promise<Downsample2D> {
    if (padding !== 1) throw new Error(`Downsample2D: downsample_padding=${padding} is not implemented (SD 1.x uses 1)`);
    return new Downsample2D(await Conv2d.load(ctx, w.at('conv'), channels, channels, 3, { ...opts, stride: 2, pad: padding }));
  }

  /** x: [N, C, H, W] -> [N, C, ceil(H/2), ceil(W/2)] */
  forward(ctx: GpuContext, x: GpuTensor): GpuTensor {
    return ctx.within('conv', () => this.conv.forward(ctx, x));
  }

  destroy(ctx: GpuContext): void { this.conv.destroy(ctx); }
}
