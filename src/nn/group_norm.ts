// nn.GroupNorm (affine) over the group_norm kernel, with SiLU optionally fused into the same pass
// (every SD ResnetBlock2D and the UNet/VAE output heads apply SiLU right after the norm).
import type { GpuContext } from '../gpu/context.js';
import { check, shapeStr, type GpuTensor } from '../gpu/tensor.js';
import { groupNorm } from '../kernels/group_norm.js';
import type { Weights } from '../weights/weights.js';
import { destroyParams, loadParam, type ParamOptions } from './param.js';

export interface GroupNormOptions extends ParamOptions {
  groups: number;
  eps: number;
}

/** torch.nn.GroupNorm(groups, C, eps); keys `weight` [C], `bias` [C]. */
export class GroupNorm {
  private constructor(readonly weight: GpuTensor, readonly bias: GpuTensor,
                      readonly channels: number, readonly groups: number, readonly eps: number) {}

  static async load(ctx: GpuContext, w: Weights, channels: number, opts: GroupNormOptions): Promise<GroupNorm> {
    check(channels % opts.groups === 0, `GroupNorm: ${channels} channels not divisible by ${opts.groups} groups`);
    const [weight, bias] = await Promise.all([
      loadParam(ctx, w, 'weight', [channels], opts),
      loadParam(ctx, w, 'bias', [channels], opts),
    ]);
    return new GroupNorm(weight, bias, channels, opts.groups, opts.eps);
  }

  /** x: [N, C, H, W] -> [N, C, H, W]; silu(norm(x)) when `silu`. */
  forward(ctx: GpuContext, x: GpuTensor, silu = false): GpuTensor {
    check(x.shape.length === 4 && x.shape[1] === this.channels, `GroupNorm(${this.channels}): input ${shapeStr(x.shape)}`);
    return groupNorm(ctx, x, this.weight, this.bias, { groups: this.groups, eps: this.eps, silu });
  }

  destroy(ctx: GpuContext): void {
    destroyParams(ctx, this.weight, this.bias);
  }
}
