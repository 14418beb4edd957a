// diffusers models/autoencoders/vae.py::Encoder (double_z=True, SD 1.x): conv_in -> down blocks
// (DownEncoderBlock2D, downsampling in all but the last) -> UNetMidBlock2D -> GroupNorm -> SiLU
// -> conv_out to 2 * latent_channels (mean and logvar).
import type { GpuContext } from '../gpu/context.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { Conv2d } from '../nn/conv2d.js';
import { GroupNorm } from '../nn/group_norm.js';
import type { ParamOptions } from '../nn/param.js';
import { tapped, type Tap } from '../nn/tap.js';
import type { Weights } from '../weights/weights.js';
import { ChannelChunks, type SplitPlan } from '../nn/channel_chunks.js';
import { conv2dChunks, destroySlices } from '../nn/chunked_ops.js';
import { VAE_NORM_EPS, type AutoencoderKLConfig } from './config.js';
import { DownEncoderBlock2D } from './down_encoder_block_2d.js';
import { normActChunks } from './norm_act.js';
import { UNetMidBlock2D } from './unet_mid_block_2d.js';

export class Encoder {
  private constructor(readonly conv_in: Conv2d, readonly down_blocks: readonly DownEncoderBlock2D[],
                      readonly mid_block: UNetMidBlock2D, readonly conv_norm_out: GroupNorm, readonly conv_out: Conv2d) {}

  static async load(ctx: GpuContext, w: Weights, cfg: AutoencoderKLConfig, opts: ParamOptions): Promise<Encoder> {
    const boc = cfg.blockOutChannels, g = cfg.normNumGroups, last = boc[boc.length - 1]!;
    const [conv_in, down_blocks, mid_block, conv_norm_out, conv_out] = await Promise.all([
      Conv2d.load(ctx, w.at('conv_in'), cfg.inChannels, boc[0]!, 3, { ...opts, pad: 1 }),
      Promise.all(boc.map((c, i) => DownEncoderBlock2D.load(ctx, w.at('down_blocks', i), i === 0 ? boc[0]! : boc[i - 1]!, c,
        cfg.layersPerBlock, i < boc.length - 1, g, opts))),
      UNetMidBlock2D.load(ctx, w.at('mid_block'), last, g, opts),
      GroupNorm.load(ctx, w.at('conv_norm_out'), last, { groups: g, eps: VAE_NORM_EPS, ...opts }),
      Conv2d.load(ctx, w.at('conv_out'), last, 2 * cfg.latentChannels, 3, { ...opts, pad: 1 }),
    ]);
    return new Encoder(conv_in, down_blocks, mid_block, conv_norm_out, conv_out);
  }

  /** x: [N, in_channels, H, W] -> [N, 2 * latent_channels, H / 2^(blocks-1), W / 2^(blocks-1)] */
  forward(ctx: GpuContext, x: GpuTensor, plan: SplitPlan, tap?: Tap): GpuTensor {
    const [N, , H, W] = x.shape as [number, number, number, number];
    // 1. conv_in
    let h = tapped(ctx, tap, 'conv_in', () => conv2dChunks(ctx, this.conv_in, ChannelChunks.of(x), plan([N, this.conv_in.outChannels, H, W])));
    const step = (name: string, fn: () => ChannelChunks) => {
      const y = tapped(ctx, tap, name, fn);
      h.release(ctx);
      h = y;
    };
    // 2. down blocks, 3. mid block
    this.down_blocks.forEach((b, i) => step(`down_blocks.${i}`, () => b.forward(ctx, h, plan, tap)));
    step('mid_block', () => this.mid_block.forward(ctx, h, plan, tap));
    // 4. post-process: GroupNorm -> SiLU -> conv_out (small: one part)
    const act = normActChunks(ctx, this.conv_norm_out, h, tap);
    h.release(ctx);
    h = act;
    const out = tapped(ctx, tap, 'conv_out', () => conv2dChunks(ctx, this.conv_out, h, [this.conv_out.outChannels]));
    h.release(ctx);
    return out.parts[0]!;
  }

  destroy(ctx: GpuContext): void {
    destroySlices(ctx, [this.conv_in, this.conv_norm_out, this.conv_out]);
    for (const m of [this.conv_in, ...this.down_blocks, this.mid_block, this.conv_norm_out, this.conv_out]) m.destroy(ctx);
  }
}
