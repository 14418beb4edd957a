// diffusers models/autoencoders/vae.py::Decoder (SD 1.x): conv_in -> UNetMidBlock2D -> up blocks
// (UpDecoderBlock2D with layers_per_block + 1 resnets, upsampling in all but the last, channels
// reversed) -> GroupNorm -> SiLU -> conv_out. At 512 x 512 output the last two up blocks hold
// [1, 256, 512, 512] activations (256 MiB in f32): everything runs on channel chunks.
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
import { normActChunks } from './norm_act.js';
import { UNetMidBlock2D } from './unet_mid_block_2d.js';
import { UpDecoderBlock2D } from './up_decoder_block_2d.js';

export class Decoder {
  private constructor(readonly conv_in: Conv2d, readonly mid_block: UNetMidBlock2D, readonly up_blocks: readonly UpDecoderBlock2D[],
                      readonly conv_norm_out: GroupNorm, readonly conv_out: Conv2d) {}

  static async load(ctx: GpuContext, w: Weights, cfg: AutoencoderKLConfig, opts: ParamOptions): Promise<Decoder> {
    const rev = [...cfg.blockOutChannels].reverse(), g = cfg.normNumGroups;
    const [conv_in, mid_block, up_blocks, conv_norm_out, conv_out] = await Promise.all([
      Conv2d.load(ctx, w.at('conv_in'), cfg.latentChannels, rev[0]!, 3, { ...opts, pad: 1 }),
      UNetMidBlock2D.load(ctx, w.at('mid_block'), rev[0]!, g, opts),
      Promise.all(rev.map((c, i) => UpDecoderBlock2D.load(ctx, w.at('up_blocks', i), i === 0 ? rev[0]! : rev[i - 1]!, c,
        cfg.layersPerBlock + 1, i < rev.length - 1, g, opts))),
      GroupNorm.load(ctx, w.at('conv_norm_out'), cfg.blockOutChannels[0]!, { groups: g, eps: VAE_NORM_EPS, ...opts }),
      Conv2d.load(ctx, w.at('conv_out'), cfg.blockOutChannels[0]!, cfg.outChannels, 3, { ...opts, pad: 1 }),
    ]);
    return new Decoder(conv_in, mid_block, up_blocks, conv_norm_out, conv_out);
  }

  /** z: [N, latent_channels, h, w] -> [N, out_channels, h * 2^(blocks-1), w * 2^(blocks-1)] */
  forward(ctx: GpuContext, z: GpuTensor, plan: SplitPlan, tap?: Tap): GpuTensor {
    const [N, , H, W] = z.shape as [number, number, number, number];
    // 1. conv_in
    let h = tapped(ctx, tap, 'conv_in', () => conv2dChunks(ctx, this.conv_in, ChannelChunks.of(z), plan([N, this.conv_in.outChannels, H, W])));
    const step = (name: string, fn: () => ChannelChunks) => {
      const y = tapped(ctx, tap, name, fn);
      h.release(ctx);
      h = y;
    };
    // 2. mid block, 3. up blocks
    step('mid_block', () => this.mid_block.forward(ctx, h, plan, tap));
    this.up_blocks.forEach((b, i) => step(`up_blocks.${i}`, () => b.forward(ctx, h, plan, tap)));
    // 4. post-process: GroupNorm -> SiLU -> conv_out (3 channels: one part)
    const act = normActChunks(ctx, this.conv_norm_out, h, tap);
    h.release(ctx);
    h = act;
    const out = tapped(ctx, tap, 'conv_out', () => conv2dChunks(ctx, this.conv_out, h, [this.conv_out.outChannels]));
    h.release(ctx);
    return out.parts[0]!;
  }

  destroy(ctx: GpuContext): void {
    destroySlices(ctx, [this.conv_in, this.conv_norm_out, this.conv_out]);
    for (const m of [this.conv_in, this.mid_block, ...this.up_blocks, this.conv_norm_out, this.conv_out]) m.destroy(ctx);
  }
}
