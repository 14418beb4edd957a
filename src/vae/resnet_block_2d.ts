// diffusers models/resnet.py::ResnetBlock2D as the VAE uses it: temb_channels=None (no time
// embedding), GroupNorm eps 1e-6, output_scale_factor 1, dropout 0. The UNet's block
// (src/unet/resnet_block_2d.ts) adds the time embedding; this one runs on channel chunks so it
// works on activations larger than one storage binding.
import type { GpuContext } from '../gpu/context.js';
import { Conv2d } from '../nn/conv2d.js';
import { GroupNorm } from '../nn/group_norm.js';
import type { ParamOptions } from '../nn/param.js';
import type { Weights } from '../weights/weights.js';
import type { ChannelChunks, SplitPlan } from './channel_chunks.js';
import { conv2dChunks, destroySlices, groupNormChunks } from './chunked_ops.js';
import { VAE_NORM_EPS } from './config.js';

export class ResnetBlock2D {
  private constructor(readonly norm1: GroupNorm, readonly conv1: Conv2d, readonly norm2: GroupNorm, readonly conv2: Conv2d,
                      readonly conv_shortcut: Conv2d | undefined, readonly outChannels: number) {}

  static async load(ctx: GpuContext, w: Weights, inC: number, outC: number, groups: number, opts: ParamOptions): Promise<ResnetBlock2D> {
    const norm = { groups, eps: VAE_NORM_EPS, ...opts };
    const [norm1, conv1, norm2, conv2, shortcut] = await Promise.all([
      GroupNorm.load(ctx, w.at('norm1'), inC, norm),
      Conv2d.load(ctx, w.at('conv1'), inC, outC, 3, { ...opts, pad: 1 }),
      GroupNorm.load(ctx, w.at('norm2'), outC, norm),
      Conv2d.load(ctx, w.at('conv2'), outC, outC, 3, { ...opts, pad: 1 }),
      inC !== outC ? Conv2d.load(ctx, w.at('conv_shortcut'), inC, outC, 1, opts) : undefined,
    ]);
    return new ResnetBlock2D(norm1, conv1, norm2, conv2, shortcut, outC);
  }

  /** x: [N, inC, H, W] -> [N, outC, H, W]; x is not released. */
  forward(ctx: GpuContext, x: ChannelChunks, plan: SplitPlan): ChannelChunks {
    const outSplit = plan([x.N, this.outChannels, x.H, x.W]);
    // 1. h = conv1(silu(norm1(x)))
    const h1 = groupNormChunks(ctx, this.norm1, x, true);
    const h2 = conv2dChunks(ctx, this.conv1, h1, outSplit);
    h1.release(ctx);
    // 2. h = conv2(silu(norm2(h)))  (dropout 0)
    const h3 = groupNormChunks(ctx, this.norm2, h2, true);
    h2.release(ctx);
    // 3. out = shortcut(x) + h, the add fused into conv2's epilogue
    const sc = this.conv_shortcut ? conv2dChunks(ctx, this.conv_shortcut, x, outSplit) : x;
    const out = conv2dChunks(ctx, this.conv2, h3, outSplit, sc);
    h3.release(ctx);
    if (sc !== x) sc.release(ctx);
    return out;
  }

  destroy(ctx: GpuContext): void {
    const mods = [this.norm1, this.conv1, this.norm2, this.conv2, ...(this.conv_shortcut ? [this.conv_shortcut] : [])];
    destroySlices(ctx, mods);
    for (const m of mods) m.destroy(ctx);
  }
}
