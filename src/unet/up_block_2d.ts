// diffusers models/unets/unet_2d_blocks.py::UpBlock2D: resnets over cat([h, skip]) (skips taken
// last-in-first-out), then an optional upsampler.
import type { GpuContext } from '../gpu/context.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { concatChannels } from '../kernels/concat.js';
import type { Weights } from '../weights/weights.js';
import type { BlockOptions } from './blocks.js';
import { ResnetBlock2D } from '../nn/resnet_block_2d.js';
import { tapped, type Tap } from '../nn/tap.js';
import { Upsample2D } from './upsample_2d.js';

/** Input channels of resnet j of an up block (diffusers' resnet_in_channels + res_skip_channels). */
export function upResnetInChannels(j: number, numLayers: number, inChannels: number, prevOutputChannel: number, outChannels: number): number {
  const skip = j === numLayers - 1 ? inChannels : outChannels;
  return (j === 0 ? prevOutputChannel : outChannels) + skip;
}

export class UpBlock2D {
  private constructor(readonly resnets: readonly ResnetBlock2D[], readonly upsamplers: readonly Upsample2D[]) {}

  /** w is scoped to `up_blocks.{i}`. */
  static async load(ctx: GpuContext, w: Weights, inChannels: number, prevOutputChannel: number, outChannels: number,
                    numLayers: number, addUpsample: boolean, opts: BlockOptions): Promise<UpBlock2D> {
    const [resnets, upsamplers] = await Promise.all([
      Promise.all(Array.from({ length: numLayers }, (_, j) => ResnetBlock2D.load(ctx, w.at('resnets', j),
        upResnetInChannels(j, numLayers, inChannels, prevOutputChannel, outChannels), outChannels, opts))),
      addUpsample ? Promise.all([Upsample2D.load(ctx, w.at('upsamplers', 0), outChannels, opts)]) : [],
    ]);
    return new UpBlock2D(resnets, upsamplers);
  }

  /**
   * x: [N, Cprev, H, W]; pops one skip per resnet from the end of `skips` (and releases it)
   * -> [N, C, outH, outW] after the upsampler (upsampleSize = the next skip's H, W), else [N, C, H, W].
   * x is not released.
   */
  forward(ctx: GpuContext, x: GpuTensor, skips: GpuTensor[], tembAct: GpuTensor, tap?: Tap,
          upsampleSize?: readonly [number, number]): GpuTensor {
    let h = x;
    this.resnets.forEach((r, j) => {
      const skip = skips.pop()!;
      const cat = concatChannels(ctx, h, skip);
      ctx.release(skip);
      if (h !== x) ctx.release(h);
      h = tapped(ctx, tap, `resnets.${j}`, () => r.forward(ctx, cat, tembAct, tap));
      ctx.release(cat);
    });
    for (const [k, u] of this.upsamplers.entries()) {
      const y = tapped(ctx, tap, `upsamplers.${k}`, () => u.forward(ctx, h, upsampleSize));
      if (h !== x) ctx.release(h);
      h = y;
    }
    return h;
  }

  destroy(ctx: GpuContext): void {
    for (const m of [...this.resnets, ...this.upsamplers]) m.destroy(ctx);
  }
}
