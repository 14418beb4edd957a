// diffusers models/resnet.py::ResnetBlock2D, SD 1.x path: time_embedding_norm "default",
// output_scale_factor 1, dropout 0, 1x1 conv_shortcut when channels change.
import type { GpuContext } from '../gpu/context.js';
import { check, shapeStr, type GpuTensor } from '../gpu/tensor.js';
import { add } from '../kernels/elementwise.js';
import { Conv2d } from '../nn/conv2d.js';
import { GroupNorm } from '../nn/group_norm.js';
import { Linear } from '../nn/linear.js';
import type { ParamOptions } from '../nn/param.js';
import type { Weights } from '../weights/weights.js';
import { normSilu, tapped, withResidual, type Tap } from '../nn/tap.js';

export interface ResnetOptions extends ParamOptions {
  groups: number;
  eps: number;
  /** channels of the time embedding (4 * block_out_channels[0]) */
  tembChannels: number;
}

export class ResnetBlock2D {
  private constructor(
    readonly norm1: GroupNorm, readonly conv1: Conv2d, readonly time_emb_proj: Linear,
    readonly norm2: GroupNorm, readonly conv2: Conv2d, readonly conv_shortcut: Conv2d | undefined,
    readonly inChannels: number, readonly outChannels: number,
  ) {}

  /** w is scoped to `…resnets.{j}`. */
  static async load(ctx: GpuContext, w: Weights, inChannels: number, outChannels: number, opts: ResnetOptions): Promise<ResnetBlock2D> {
    const norm = { ...opts, groups: opts.groups, eps: opts.eps };
    const conv3 = { ...opts, pad: 1 };
    const m = await Promise.all([
      GroupNorm.load(ctx, w.at('norm1'), inChannels, norm),
      Conv2d.load(ctx, w.at('conv1'), inChannels, outChannels, 3, conv3),
      Linear.load(ctx, w.at('time_emb_proj'), opts.tembChannels, outChannels, opts),
      GroupNorm.load(ctx, w.at('norm2'), outChannels, norm),
      Conv2d.load(ctx, w.at('conv2'), outChannels, outChannels, 3, conv3),
      inChannels !== outChannels ? Conv2d.load(ctx, w.at('conv_shortcut'), inChannels, outChannels, 1, opts) : undefined,
    ] as const);
    return new ResnetBlock2D(...m, inChannels, outChannels);
  }

  /**
   * x: [N, inC, H, W], tembAct: SiLU(temb) [N, tembChannels] (shared by every block, so the
   * UNet applies the SiLU once) -> [N, outC, H, W]. x is not released.
   */
  forward(ctx: GpuContext, x: GpuTensor, tembAct: GpuTensor, tap?: Tap): GpuTensor {
    check(x.shape[1] === this.inChannels, `ResnetBlock2D(${this.inChannels} -> ${this.outChannels}): input ${shapeStr(x.shape)}`);
    let h = normSilu(ctx, this.norm1, x, tap, 'norm1');
    const c1 = tapped(ctx, tap, 'conv1', () => this.conv1.forward(ctx, h));
    ctx.release(h);
    // h = conv1(...) + time_emb_proj(silu(temb))[:, :, None, None]
    const t = tapped(ctx, tap, 'time_emb_proj', () => this.time_emb_proj.forward(ctx, tembAct));
    const c1t = add(ctx, c1, t);
    ctx.release(c1, t);
    h = normSilu(ctx, this.norm2, c1t, tap, 'norm2');
    ctx.release(c1t);
    // output = shortcut(x) + conv2(h), the add fused into conv2's epilogue
    const shortcut = this.conv_shortcut ? ctx.within('conv_shortcut', () => this.conv_shortcut!.forward(ctx, x)) : x;
    const y = withResidual(ctx, tap, 'conv2', shortcut, (r) => this.conv2.forward(ctx, h, r));
    ctx.release(h);
    if (shortcut !== x) ctx.release(shortcut);
    return y;
  }

  destroy(ctx: GpuContext): void {
    for (const m of [this.norm1, this.conv1, this.time_emb_proj, this.norm2, this.conv2, this.conv_shortcut]) m?.destroy(ctx);
  }
}
