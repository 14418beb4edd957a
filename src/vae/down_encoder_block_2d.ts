// diffusers unet_2d_blocks.py::DownEncoderBlock2D (resnets, then an optional Downsample2D) and
// resnet.py::Downsample2D with padding=0, as the VAE encoder builds it: F.pad(x, (0, 1, 0, 1))
// then a 3x3 stride-2 conv with no padding of its own. The pad is the conv kernel's asymmetric
// [top, bottom, left, right] = [0, 1, 0, 1].
import type { GpuContext } from '../gpu/context.js';
import { Conv2d } from '../nn/conv2d.js';
import type { ParamOptions } from '../nn/param.js';
import { tapped, type Tap } from '../nn/tap.js';
import type { Weights } from '../weights/weights.js';
import type { ChannelChunks, SplitPlan } from '../nn/channel_chunks.js';
import { conv2dChunks, destroySlices } from '../nn/chunked_ops.js';
import { ResnetBlock2D } from '../nn/resnet_block_2d.js';
import { VAE_NORM_EPS } from './config.js';

export class Downsample2D {
  private constructor(readonly conv: Conv2d) {}

  static async load(ctx: GpuContext, w: Weights, channels: number, opts: ParamOptions): Promise<Downsample2D> {
    return new Downsample2D(await Conv2d.load(ctx, w.at('conv'), channels, channels, 3, { ...opts, stride: 2, pad: [0, 1, 0, 1] }));
  }

  /** x: [N, C, H, W] -> [N, C, floor((H - 2) / 2) + 1, floor((W - 2) / 2) + 1] (H/2 for even H) */
  forward(ctx: GpuContext, x: ChannelChunks, plan: SplitPlan): ChannelChunks {
    const Ho = Math.floor((x.H + 1 - 3) / 2) + 1, Wo = Math.floor((x.W + 1 - 3) / 2) + 1;
    return ctx.within('conv', () => conv2dChunks(ctx, this.conv, x, plan([x.N, x.C, Ho, Wo])));
  }

  destroy(ctx: GpuContext): void {
    destroySlices(ctx, [this.conv]);
    this.conv.destroy(ctx);
  }
}

export class DownEncoderBlock2D {
  private constructor(readonly resnets: readonly ResnetBlock2D[], readonly downsamplers: readonly Downsample2D[]) {}

  static async load(ctx: GpuContext, w: Weights, inC: number, outC: number, numLayers: number, addDownsample: boolean,
                    groups: number, opts: ParamOptions): Promise<DownEncoderBlock2D> {
    const [resnets, downsamplers] = await Promise.all([
      Promise.all(Array.from({ length: numLayers }, (_, j) =>
        ResnetBlock2D.load(ctx, w.at('resnets', j), j === 0 ? inC : outC, outC, { ...opts, groups, eps: VAE_NORM_EPS }))),
      addDownsample ? Promise.all([Downsample2D.load(ctx, w.at('downsamplers', 0), outC, opts)]) : [],
    ]);
    return new DownEncoderBlock2D(resnets, downsamplers);
  }

  /** x: [N, inC, H, W] -> [N, outC, H', W'] (H' = H/2 with a downsampler); x is not released. */
  forward(ctx: GpuContext, x: ChannelChunks, plan: SplitPlan, tap?: Tap): ChannelChunks {
    let h = x;
    const step = (name: string, fn: () => ChannelChunks) => {
      const y = tapped(ctx, tap, name, fn);
      if (h !== x) h.release(ctx);
      h = y;
    };
    this.resnets.forEach((r, j) => step(`resnets.${j}`, () => r.forwardChunks(ctx, h, plan)));
    this.downsamplers.forEach((d, k) => step(`downsamplers.${k}`, () => d.forward(ctx, h, plan)));
    return h;
  }

  destroy(ctx: GpuContext): void {
    for (const m of [...this.resnets, ...this.downsamplers]) m.destroy(ctx);
  }
}
