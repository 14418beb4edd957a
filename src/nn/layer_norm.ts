// nn.LayerNorm (affine) over the last dimension.
import type { GpuContext } from '../gpu/context.js';
import { check, shapeStr, type GpuTensor } from '../gpu/tensor.js';
import { layerNorm } from '../kernels/layer_norm.js';
import type { LnPrologue } from '../kernels/matmul.js';
import type { Weights } from '../weights/weights.js';
import { destroyParams, loadParam, type ParamOptions } from './param.js';

export interface LayerNormOptions extends ParamOptions {
  /** default 1e-5 (torch's default, used by SD's BasicTransformerBlock and CLIP) */
  eps?: number;
}

/** torch.nn.LayerNorm(C, eps); keys `weight` [C], `bias` [C]. */
export class LayerNorm {
  private constructor(readonly weight: GpuTensor, readonly bias: GpuTensor,
                      readonly channels: number, readonly eps: number) {}

  static async load(ctx: GpuContext, w: Weights, channels: number, opts: LayerNormOptions = {}): Promise<LayerNorm> {
    const [weight, bias] = await Promise.all([
      loadParam(ctx, w, 'weight', [channels], opts),
      loadParam(ctx, w, 'bias', [channels], opts),
    ]);
    return new LayerNorm(weight, bias, channels, opts.eps ?? 1e-5);
  }

  /** x: [..., C] -> [..., C] */
  forward(ctx: GpuContext, x: GpuTensor): GpuTensor {
    check(x.shape[x.shape.length - 1] === this.channels, `LayerNorm(${this.channels}): input ${shapeStr(x.shape)}`);
    return layerNorm(ctx, x, this.weight, this.bias, this.eps);
  }

  /** This norm as a GEMM prologue (matmul's LayerNorm-on-load): saves its dispatch and output pass. */
  get prologue(): LnPrologue {
    return { gamma: this.weight, beta: this.bias, eps: this.eps };
  }

  destroy(ctx: GpuContext): void {
    destroyParams(ctx, this.weight, this.bias);
  }
}
