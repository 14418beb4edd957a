// nn.Linear over the tiled matmul kernel. The weight stays in the checkpoint's [out, in] layout
// (the kernel reads it transposed), so loading is a plain upload.
import type { GpuContext } from '../gpu/context.js';
import { check, shapeStr, type GpuTensor } from '../gpu/tensor.js';
import { linear, type LnPrologue } from '../kernels/matmul.js';
import type { Weights } from '../weights/weights.js';
import { destroyParams, loadParam, type ParamOptions } from './param.js';

export interface LinearOptions extends ParamOptions {
  /** true (default): `bias` must exist; false: no bias; 'auto': used when the checkpoint has one. */
  bias?: boolean | 'auto';
}

/** torch.nn.Linear: y = x W^T + b; keys `weight` [out, in], `bias` [out]. */
export class Linear {
  private constructor(readonly weight: GpuTensor, readonly bias: GpuTensor | undefined,
                      readonly inFeatures: number, readonly outFeatures: number) {}

  static async load(ctx: GpuContext, w: Weights, inFeatures: number, outFeatures: number,
                    opts: LinearOptions = {}): Promise<Linear> {
    const wantBias = opts.bias === 'auto' ? w.has('bias') : (opts.bias ?? true);
    const [weight, bias] = await Promise.all([
      loadParam(ctx, w, 'weight', [outFeatures, inFeatures], opts),
      wantBias ? loadParam(ctx, w, 'bias', [outFeatures], opts) : undefined,
    ]);
    return new Linear(weight, bias, inFeatures, outFeatures);
  }

  /**
   * x: [..., in] -> [..., out]; `residual` [..., out] is added in the matmul epilogue; `fused`:
   * LayerNorm x's rows on load, and/or GEGLU (this weight is [h; gate]: output [..., out / 2]),
   * or SiLU of the output (before the residual).
   */
  forward(ctx: GpuContext, x: GpuTensor, residual?: GpuTensor, fused: { ln?: LnPrologue; geglu?: boolean; silu?: boolean } = {}): GpuTensor {
    check(x.shape[x.shape.length - 1] === this.inFeatures,
      `Linear(${this.inFeatures} -> ${this.outFeatures}): input ${shapeStr(x.shape)}`);
    return linear(ctx, x, this.weight, this.bias, { residual, ...fused });
  }

  destroy(ctx: GpuContext): void {
    destroyParams(ctx, this.weight, this.bias);
  }
}
