// nn.Conv2d over the implicit-GEMM conv kernel (NCHW activations, [O, C, kh, kw] weights).
import type { GpuContext } from '../gpu/context.js';
import { check, shapeStr, type GpuTensor } from '../gpu/tensor.js';
import { conv2d, type ChannelBias } from '../kernels/conv2d.js';
import type { Weights } from '../weights/weights.js';
import { destroyParams, loadParam, type ParamOptions } from './param.js';

export interface Conv2dOptions extends ParamOptions {
  stride?: number;
  /** symmetric padding, or [top, bottom, left, right]; default 0 */
  pad?: number | [number, number, number, number];
  /** true (default): `bias` must exist; false: no bias */
  bias?: boolean;
}

/** torch.nn.Conv2d (groups 1, dilation 1); keys `weight` [O, C, k, k], `bias` [O]. */
export class Conv2d {
  private constructor(readonly weight: GpuTensor, readonly bias: GpuTensor | undefined,
                      readonly inChannels: number, readonly outChannels: number, readonly kernelSize: number,
                      readonly stride: number, readonly pad: number | [number, number, number, number]) {}

  static async load(ctx: GpuContext, w: Weights, inChannels: number, outChannels: number, kernelSize: number,
                    opts: Conv2dOptions = {}): Promise<Conv2d> {
    const [weight, bias] = await Promise.all([
      loadParam(ctx, w, 'weight', [outChannels, inChannels, kernelSize, kernelSize], opts),
      (opts.bias ?? true) ? loadParam(ctx, w, 'bias', [outChannels], opts) : undefined,
    ]);
    return new Conv2d(weight, bias, inChannels, outChannels, kernelSize, opts.stride ?? 1, opts.pad ?? 0);
  }

  /**
   * x: [N, C, H, W] -> [N, O, Ho, Wo]; `residual` [N, O, Ho, Wo] or a per-(sample, channel)
   * `channelBias` is added in the epilogue.
   */
  forward(ctx: GpuContext, x: GpuTensor, residual?: GpuTensor, channelBias?: ChannelBias): GpuTensor {
    check(x.shape.length === 4 && x.shape[1] === this.inChannels,
      `Conv2d(${this.inChannels} -> ${this.outChannels}): input ${shapeStr(x.shape)}`);
    return conv2d(ctx, x, this.weight, this.bias, { stride: this.stride, pad: this.pad, residual, channelBias });
  }

  destroy(ctx: GpuContext): void {
    destroyParams(ctx, this.weight, this.bias);
  }
}
