// diffusers models/embeddings.py: Timesteps (sinusoidal projection, no weights) and
// TimestepEmbedding (linear_1 -> SiLU -> linear_2).
import type { GpuContext } from '../gpu/context.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { unary } from '../kernels/elementwise.js';
import { timestepEmbedding } from '../kernels/timestep_embedding.js';
import { Linear } from '../nn/linear.js';
import type { ParamOptions } from '../nn/param.js';
import type { Weights } from '../weights/weights.js';

/** Timesteps(num_channels, flip_sin_to_cos, downscale_freq_shift): t [N] f32 -> [N, dim]. */
export class Timesteps {
  constructor(readonly dim: number, readonly flipSinToCos: boolean, readonly freqShift: number) {}

  /** t: [N] (f32 timestep values) -> [N, dim]; cos half first when flipSinToCos (SD 1.x). */
  forward(ctx: GpuContext, t: GpuTensor): GpuTensor {
    return timestepEmbedding(ctx, t, this.dim, { flipSinToCos: this.flipSinToCos, freqShift: this.freqShift, maxPeriod: 10000 });
  }
}

/** TimestepEmbedding(in, time_embed_dim): keys `linear_1`, `linear_2`. */
export class TimestepEmbedding {
  private constructor(readonly linear_1: Linear, readonly linear_2: Linear) {}

  static async load(ctx: GpuContext, w: Weights, inChannels: number, timeEmbedDim: number, opts: ParamOptions = {}): Promise<TimestepEmbedding> {
    const [l1, l2] = await Promise.all([
      Linear.load(ctx, w.at('linear_1'), inChannels, timeEmbedDim, opts),
      Linear.load(ctx, w.at('linear_2'), timeEmbedDim, timeEmbedDim, opts),
    ]);
    return new TimestepEmbedding(l1, l2);
  }

  /**
   * silu(forward(x)) with both SiLUs in the GEMM epilogues (every resnet applies SiLU to temb
   * first): 2 dispatches instead of 4. The golden `time_embedding` tap is pre-SiLU, so the tapped
   * path uses forward() and a separate SiLU.
   */
  forwardSilu(ctx: GpuContext, x: GpuTensor): GpuTensor {
    const h = ctx.within('linear_1', () => this.linear_1.forward(ctx, x, undefined, { silu: true }));
    const y = ctx.within('linear_2', () => this.linear_2.forward(ctx, h, undefined, { silu: true }));
    ctx.release(h);
    return y;
  }

  /** x: [N, in] -> [N, timeEmbedDim] */
  forward(ctx: GpuContext, x: GpuTensor): GpuTensor {
    const l1 = ctx.within('linear_1', () => this.linear_1.forward(ctx, x));
    const h = unary(ctx, 'silu', l1);
    const y = ctx.within('linear_2', () => this.linear_2.forward(ctx, h));
    ctx.release(l1, h);
    return y;
  }

  destroy(ctx: GpuContext): void {
    this.linear_1.destroy(ctx);
    this.linear_2.destroy(ctx);
  }
}
