// diffusers unet_2d_blocks.py::UpDecoderBlock2D (resnets, then an optional Upsample2D) and
// resnet.py::Upsample2D(use_conv=True): nearest-neighbour x2, then a 3x3 conv with padding 1.
import type { GpuContext } from '../gpu/context.js';
import { Conv2d } from '../nn/conv2d.js';
import type { ParamOptions } from '../nn/param.js';
import { tapped, type Tap } from '../nn/tap.js';
import type { Weights } from '../weights/weights.js';
import { resplit, type ChannelChunks, type SplitPlan } from '../nn/channel_chunks.js';
import { conv2dChunks, destroySlices, upsampleChunks } from '../nn/chunked_ops.js';
import { ResnetBlock2D } from '../nn/resnet_block_2d.js';
import { VAE_NORM_EPS } from './config.js';

export class Upsample2D {
  private constructor(readonly conv: Conv2d) {}

  static async load(ctx: GpuContext, w: Weights, channels: number, opts: ParamOptions): Promise<Upsample2D> {
    return new Upsample2D(await Conv2d.load(ctx, w.at('conv'), channels, channels, 3, { ...opts, pad: 1 }));
  }

  /** x: [N, C, H, W] -> [N, C, 2H, 2W]; x is not released. */
  forward(ctx: GpuContext, x: ChannelChunks, plan: SplitPlan): ChannelChunks {
    const big = plan([x.N, x.C, 2 * x.H, 2 * x.W]);
    // The x2 tensor is 4x larger: split the input as finely as its upsampled copy must be.
    const xs = resplit(ctx, x, big);
    const up = upsampleChunks(ctx, xs, 2 * x.H, 2 * x.W);
    if (xs !== x) xs.release(ctx);
    const y = ctx.within('conv', () => conv2dChunks(ctx, this.conv, up, big));
    up.release(ctx);
    return y;
  }

  destroy(ctx: GpuContext): void {
    destroySlices(ctx, [this.conv]);
    this.conv.destroy(ctx);
  }
}

export class UpDecoderBlock2D {
  private constructor(readonly resnets: readonly ResnetBlock2D[], readonly upsamplers: readonly Upsample2D[]) {}

  static async load(ctx: GpuContext, w: Weights, inC: number, outC: number, numLayers: number, addUpsample: boolean,
                    groups: number, opts: ParamOptions): Promise<UpDecoderBlock2D> {
    const [resnets, upsamplers] = await Promise.all([
      Promise.all(Array.from({ length: numLayers }, (_, j) =>
        ResnetBlock2D.load(ctx, w.at('resnets', j), j === 0 ? inC : outC, outC, { ...opts, groups, eps: VAE_NORM_EPS }))),
      addUpsample ? Promise.all([Upsample2D.load(ctx, w.at('upsamplers', 0), outC, opts)]) : [],
    ]);
    return new UpDecoderBlock2D(resnets, upsamplers);
  }

  /** x: [N, inC, H, W] -> [N, outC, H', W'] (H' = 2H with an upsampler); x is not released. */
  forward(ctx: GpuContext, x: ChannelChunks, plan: SplitPlan, tap?: Tap): ChannelChunks {
    let h = x;
    const step = (name: string, fn: () => ChannelChunks) => {
      const y = tapped(ctx, tap, name, fn);
      if (h !== x) h.release(ctx);
      h = y;
    };
    this.resnets.forEach((r, j) => step(`resnets.${j}`, () => r.forwardChunks(ctx, h, plan)));
    this.upsamplers.forEach((u, k) => step(`upsamplers.${k}`, () => u.forward(ctx, h, plan)));
    return h;
  }

  destroy(ctx: GpuContext): void {
    for (const m of [...this.resnets, ...this.upsamplers]) m.destroy(ctx);
  }
}
