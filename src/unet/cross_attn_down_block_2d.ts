// diffusers models/unets/unet_2d_blocks.py::CrossAttnDownBlock2D: (resnet -> transformer) pairs,
// then an optional downsampler.
import type { GpuContext } from '../gpu/context.js';
import type { GpuTensor } from '../gpu/tensor.js';
import type { Weights } from '../weights/weights.js';
import type { BlockOptions, DownOutput } from './blocks.js';
import { Downsample2D } from './downsample_2d.js';
import { ResnetBlock2D } from '../nn/resnet_block_2d.js';
import { tapped, type Tap } from '../nn/tap.js';
import { Transformer2DModel } from './transformer_2d.js';

export class CrossAttnDownBlock2D {
  private constructor(readonly resnets: readonly ResnetBlock2D[], readonly attentions: readonly Transformer2DModel[],
                      readonly downsamplers: readonly Downsample2D[]) {}

  /** w is scoped to `down_blocks.{i}`. */
  static async load(ctx: GpuContext, w: Weights, inChannels: number, outChannels: number, numLayers: number,
                    addDownsample: boolean, downsamplePadding: number, opts: BlockOptions): Promise<CrossAttnDownBlock2D> {
    const tOpts = { ...opts, layers: opts.transformerLayers };
    const [resnets, attentions, downsamplers] = await Promise.all([
      Promise.all(Array.from({ length: numLayers }, (_, j) =>
        ResnetBlock2D.load(ctx, w.at('resnets', j), j === 0 ? inChannels : outChannels, outChannels, opts))),
      Promise.all(Array.from({ length: numLayers }, (_, j) =>
        Transformer2DModel.load(ctx, w.at('attentions', j), outChannels, tOpts))),
      addDownsample ? Promise.all([Downsample2D.load(ctx, w.at('downsamplers', 0), outChannels, downsamplePadding, opts)]) : [],
    ]);
    return new CrossAttnDownBlock2D(resnets, attentions, downsamplers);
  }

  /**
   * x: [N, Cin, H, W], context: [N, M, Ccross] -> hidden [N, C, H/2, W/2] plus the skips (each
   * transformer output, then the downsampler output). x is not released; skips go to the caller.
   */
  forward(ctx: GpuContext, x: GpuTensor, tembAct: GpuTensor, context: GpuTensor, tap?: Tap): DownOutput {
    const skips: GpuTensor[] = [];
    let h = x;
    this.resnets.forEach((r, j) => {
      const rh = tapped(ctx, tap, `resnets.${j}`, () => r.forward(ctx, h, tembAct, tap));
      h = tapped(ctx, tap, `attentions.${j}`, () => this.attentions[j]!.forward(ctx, rh, context, tap));
      ctx.release(rh);
      skips.push(h);
    });
    for (const [k, d] of this.downsamplers.entries()) {
      h = tapped(ctx, tap, `downsamplers.${k}`, () => d.forward(ctx, h));
      skips.push(h);
    }
    return { hidden: h, skips };
  }

  destroy(ctx: GpuContext): void {
    for (const m of [...this.resnets, ...this.attentions, ...this.downsamplers]) m.destroy(ctx);
  }
}
