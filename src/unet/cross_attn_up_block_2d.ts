// diffusers models/unets/unet_2d_blocks.py::CrossAttnUpBlock2D: (resnet over cat([h, skip]) ->
// transformer) per layer, skips taken last-in-first-out, then an optional upsampler.
import type { GpuContext } from '../gpu/context.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { concatChannels } from '../kernels/concat.js';
import type { Weights } from '../weights/weights.js';
import type { BlockOptions } from './blocks.js';
import { ResnetBlock2D } from '../nn/resnet_block_2d.js';
import { tapped, type Tap } from '../nn/tap.js';
import { Transformer2DModel } from './transformer_2d.js';
import { upResnetInChannels } from './up_block_2d.js';
import { Upsample2D } from './upsample_2d.js';

export class CrossAttnUpBlock2D {
  private constructor(readonly resnets: readonly ResnetBlock2D[], readonly attentions: readonly Transformer2DModel[],
                      readonly upsamplers: readonly Upsample2D[]) {}

  /** w is scoped to `up_blocks.{i}`. */
  static async load(ctx: GpuContext, w: Weights, inChannels: number, prevOutputChannel: number, outChannels: number,
                    numLayers: number, addUpsample: boolean, opts: BlockOptions): Promise<CrossAttnUpBlock2D> {
    const tOpts = { ...opts, layers: opts.transformerLayers };
    const [resnets, attentions, upsamplers] = await Promise.all([
      Promise.all(Array.from({ length: numLayers }, (_, j) => ResnetBlock2D.load(ctx, w.at('resnets', j),
        upResnetInChannels(j, numLayers, inChannels, prevOutputChannel, outChannels), outChannels, opts))),
      Promise.all(Array.from({ length: numLayers }, (_, j) =>
        Transformer2DModel.load(ctx, w.at('attentions', j), outChannels, tOpts))),
      addUpsample ? Promise.all([Upsample2D.load(ctx, w.at('upsamplers', 0), outChannels, opts)]) : [],
    ]);
    return new CrossAttnUpBlock2D(resnets, attentions, upsamplers);
  }

  /**
   * x: [N, Cprev, H, W], context: [N, M, Ccross]; pops (and releases) one skip per layer
   * -> [N, C, outH, outW] after the upsampler, else [N, C, H, W]. x is not released.
   */
  forward(ctx: GpuContext, x: GpuTensor, skips: GpuTensor[], tembAct: GpuTensor, context: GpuTensor, tap?: Tap,
          upsampleSize?: readonly [number, number]): GpuTensor {
    let h = x;
    this.resnets.forEach((r, j) => {
      const skip = skips.pop()!;
      const cat = concatChannels(ctx, h, skip);
      ctx.release(skip);
      if (h !== x) ctx.release(h);
      const rh = tapped(ctx, tap, `resnets.${j}`, () => r.forward(ctx, cat, tembAct, tap));
      ctx.release(cat);
      h = tapped(ctx, tap, `attentions.${j}`, () => this.attentions[j]!.forward(ctx, rh, context, tap));
      ctx.release(rh);
    });
    for (const [k, u] of this.upsamplers.entries()) {
      const y = tapped(ctx, tap, `upsamplers.${k}`, () => u.forward(ctx, h, upsampleSize));
      if (h !== x) ctx.release(h);
      h = y;
    }
    return h;
  }

  destroy(ctx: GpuContext): void {
    for (const m of [...this.resnets, ...this.attentions, ...this.upsamplers]) m.destroy(ctx);
  }
}
