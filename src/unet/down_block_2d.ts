// diffusers models/unets/unet_2d_blocks.py::DownBlock2D: resnets, then an optional downsampler.
import type { GpuContext } from '../gpu/context.js';
import type { GpuTensor } from '../gpu/tensor.js';
import type { Weights } from '../weights/weights.js';
import type { BlockOptions, DownOutput } from './blocks.js';
import { Downsample2D } from './downsample_2d.js';
import { ResnetBlock2D } from '../nn/resnet_block_2d.js';
import { tapped, type Tap } from '../nn/tap.js';

export class DownBlock2D {
  private constructor(readonly resnets: readonly ResnetBlock2D[], readonly downsamplers: readonly Downsample2D[]) {}

  /** w is scoped to `down_blocks.{i}`. */
  static async load(ctx: GpuContext, w: Weights, inChannels: number, outChannels: number, numLayers: number,
                    addDownsample: boolean, downsamplePadding: number, opts: BlockOptions): Promise<DownBlock2D> {
    const [resnets, downsamplers] = await Promise.all([
      Promise.all(Array.from({ length: numLayers }, (_, j) =>
        ResnetBlock2D.load(ctx, w.at('resnets', j), j === 0 ? inChannels : outChannels, outChannels, opts))),
      addDownsample ? Promise.all([Downsample2D.load(ctx, w.at('downsamplers', 0), outChannels, downsamplePadding, opts)]) : [],
    ]);
    return new DownBlock2D(resnets, downsamplers);
  }

  /**
   * x: [N, Cin, H, W] -> hidden [N, C, H/2, W/2] (H, W without a downsampler), plus the skips:
   * each resnet output, then the downsampler output. x is not released; every skip is owned by
   * the caller (the up path releases them as it consumes them).
   */
  forward(ctx: GpuContext, x: GpuTensor, tembAct: GpuTensor, tap?: Tap): DownOutput {
    const skips: GpuTensor[] = [];
    let h = x;
    this.resnets.forEach((r, j) => {
      h = tapped(ctx, tap, `resnets.${j}`, () => r.forward(ctx, h, tembAct, tap));
      skips.push(h);
    });
    for (const [k, d] of this.downsamplers.entries()) {
      h = tapped(ctx, tap, `downsamplers.${k}`, () => d.forward(ctx, h));
      skips.push(h);
    }
    return { hidden: h, skips };
  }

  destroy(ctx: GpuContext): void {
    for (const m of [...this.resnets, ...this.downsamplers]) m.destroy(ctx);
  }
}
