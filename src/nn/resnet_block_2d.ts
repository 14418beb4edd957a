// diffusers models/resnet.py::ResnetBlock2D, SD 1.x path, one class for the UNet and the VAE (as
// candle's resnet.rs and diffusers' own resnet.py serve both): time_embedding_norm "default",
// output_scale_factor 1, dropout 0, 1x1 conv_shortcut when channels change. The UNet's blocks
// have a time_emb_proj (tembChannels given); the VAE's have none (temb_channels=None) and norm
// eps 1e-6. The block runs on ChannelChunks so the VAE can hold activations larger than one
// storage binding; a UNet tensor is one chunk, for which every chunked op is exactly the
// module's own forward (same kernels, same bits).
import type { GpuContext } from '../gpu/context.js';
import { check, shapeStr, type GpuTensor } from '../gpu/tensor.js';
import { add } from '../kernels/elementwise.js';
import { ChannelChunks, NO_SPLIT, type SplitPlan } from './channel_chunks.js';
import { addChunks, conv2dChunks, destroySlices, normSiluChunks } from './chunked_ops.js';
import { Conv2d } from './conv2d.js';
import { GroupNorm } from './group_norm.js';
import { Linear } from './linear.js';
import type { LinearBank } from './linear_bank.js';
import type { ParamOptions } from './param.js';
import { tapped, type Tap } from './tap.js';
import type { Weights } from '../weights/weights.js';

export interface ResnetOptions extends ParamOptions {
  groups: number;
  eps: number;
  /** channels of the time embedding (UNet: 4 * block_out_channels[0]); absent in the VAE */
  tembChannels?: number;
}

export class ResnetBlock2D {
  /**
   * Set by the UNet: this block's time_emb_proj is member `index` of a bank that projects
   * SiLU(temb) for every resnet in one GEMM; used when the bank holds this forward's tembAct.
   */
  tembBank?: { bank: LinearBank; index: number };

  private constructor(
    readonly norm1: GroupNorm, readonly conv1: Conv2d, readonly time_emb_proj: Linear | undefined,
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
      opts.tembChannels !== undefined ? Linear.load(ctx, w.at('time_emb_proj'), opts.tembChannels, outChannels, opts) : undefined,
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
  forward(ctx: GpuContext, x: GpuTensor, tembAct?: GpuTensor, tap?: Tap): GpuTensor {
    return this.forwardChunks(ctx, ChannelChunks.of(x), NO_SPLIT, tembAct, tap).parts[0]!;
  }

  /** forward on channel chunks; `plan` splits each output. x is not released. */
  forwardChunks(ctx: GpuContext, x: ChannelChunks, plan: SplitPlan, tembAct?: GpuTensor, tap?: Tap): ChannelChunks {
    check(x.C === this.inChannels, `ResnetBlock2D(${this.inChannels} -> ${this.outChannels}): input ${shapeStr(x.shape)}`);
    check((tembAct !== undefined) === (this.time_emb_proj !== undefined),
      `ResnetBlock2D: ${this.time_emb_proj ? 'a time embedding is required' : 'this block has no time_emb_proj'}`);
    const outSplit = plan([x.N, this.outChannels, x.H, x.W]);
    // Released by hand, not by ctx.scope(): a VAE activation at 512 x 512 is up to 256 MiB, and
    // each is freed as soon as the next op has read it (a scope would hold them all to the end).
    // 1. h = conv1(silu(norm1(x)))
    const a = normSiluChunks(ctx, this.norm1, x, tap, 'norm1');
    // 2. h = h + time_emb_proj(silu(temb))[:, :, None, None]  (UNet): untapped, the projection
    //    (from the UNet's bank, else its own GEMM) is a per-(sample, channel) term of conv1's epilogue
    if (this.time_emb_proj && !tap && a.single && outSplit.length === 1) {
      const slice = this.tembBank?.bank.peek(tembAct!, this.tembBank.index);
      const t = slice ? undefined : ctx.within('time_emb_proj', () => this.time_emb_proj!.forward(ctx, tembAct!));
      const cb = slice ?? { t: t!, off: 0, stride: this.outChannels };
      const h1 = ctx.within('conv1', () => this.conv1.forward(ctx, a.parts[0]!, undefined, cb));
      ctx.release(t);
      a.release(ctx);
      return this.finishForward(ctx, x, ChannelChunks.of(h1), outSplit, tap);
    }
    let h = tapped(ctx, tap, 'conv1', () => conv2dChunks(ctx, this.conv1, a, outSplit));
    a.release(ctx);
    if (this.time_emb_proj) {
      // per-channel temb would need column slices per chunk; the UNet never splits (NO_SPLIT)
      check(h.single, 'ResnetBlock2D: a time embedding on split activations is not implemented');
      const t = tapped(ctx, tap, 'time_emb_proj', () => this.time_emb_proj!.forward(ctx, tembAct!));
      const ht = ChannelChunks.of(add(ctx, h.parts[0]!, t));
      ctx.release(t);
      h.release(ctx);
      h = ht;
    }
    return this.finishForward(ctx, x, h, outSplit, tap);
  }

  /** Steps 3-4 from h = conv1(...) + temb term; releases h. */
  private finishForward(ctx: GpuContext, x: ChannelChunks, h: ChannelChunks, outSplit: number[], tap?: Tap): ChannelChunks {
    // 3. h = conv2(silu(norm2(h)))  (dropout 0)
    const b = normSiluChunks(ctx, this.norm2, h, tap, 'norm2');
    h.release(ctx);
    // 4. output = shortcut(x) + h, the add fused into conv2's epilogue unless a tap wants conv2's own output
    const sc = this.conv_shortcut ? ctx.within('conv_shortcut', () => conv2dChunks(ctx, this.conv_shortcut!, x, outSplit)) : x;
    let y: ChannelChunks;
    if (!tap) {
      y = ctx.within('conv2', () => conv2dChunks(ctx, this.conv2, b, outSplit, sc));
    } else {
      const c2 = tapped(ctx, tap, 'conv2', () => conv2dChunks(ctx, this.conv2, b, outSplit));
      y = addChunks(ctx, c2, sc);
      c2.release(ctx);
    }
    b.release(ctx);
    if (sc !== x) sc.release(ctx);
    return y;
  }

  destroy(ctx: GpuContext): void {
    const mods = [this.norm1, this.conv1, this.norm2, this.conv2, ...(this.conv_shortcut ? [this.conv_shortcut] : [])];
    destroySlices(ctx, mods);
    for (const m of [...mods, this.time_emb_proj]) m?.destroy(ctx);
  }
}
