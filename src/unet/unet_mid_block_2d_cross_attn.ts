// diffusers models/unets/unet_2d_blocks.py::UNetMidBlock2DCrossAttn: resnet, then
// (transformer -> resnet) per layer (1 in SD 1.x); output_scale_factor 1.
import type { GpuContext } from '../gpu/context.js';
import type { GpuTensor } from '../gpu/tensor.js';
import type { Weights } from '../weights/weights.js';
import type { BlockOptions } from './blocks.js';
import { ResnetBlock2D } from '../nn/resnet_block_2d.js';
import { tapped, type Tap } from '../nn/tap.js';
import { Transformer2DModel } from './transformer_2d.js';

export class UNetMidBlock2DCrossAttn {
  private constructor(readonly resnets: readonly ResnetBlock2D[], readonly attentions: readonly Transformer2DModel[]) {}

  /** w is scoped to `mid_block`. */
  static async load(ctx: GpuContext, w: Weights, channels: number, opts: BlockOptions, numLayers = 1): Promise<UNetMidBlock2DCrossAttn> {
    const tOpts = { ...opts, layers: opts.transformerLayers };
    const [resnets, attentions] = await Promise.all([
      Promise.all(Array.from({ length: numLayers + 1 }, (_, j) => ResnetBlock2D.load(ctx, w.at('resnets', j), channels, channels, opts))),
      Promise.all(Array.from({ length: numLayers }, (_, j) => Transformer2DModel.load(ctx, w.at('attentions', j), channels, tOpts))),
    ]);
    return new UNetMidBlock2DCrossAttn(resnets, attentions);
  }

  /** x: [N, C, H, W], context: [N, M, Ccross] -> [N, C, H, W]. x is not released. */
  forward(ctx: GpuContext, x: GpuTensor, tembAct: GpuTensor, context: GpuTensor, tap?: Tap): GpuTensor {
    let h = tapped(ctx, tap, 'resnets.0', () => this.resnets[0]!.forward(ctx, x, tembAct, tap));
    this.attentions.forEach((a, j) => {
      const ah = tapped(ctx, tap, `attentions.${j}`, () => a.forward(ctx, h, context, tap));
      ctx.release(h);
      h = tapped(ctx, tap, `resnets.${j + 1}`, () => this.resnets[j + 1]!.forward(ctx, ah, tembAct, tap));
      ctx.release(ah);
    });
    return h;
  }

  destroy(ctx: GpuContext): void {
    for (const m of [...this.resnets, ...this.attentions]) m.destroy(ctx);
  }
}
