// diffusers models/unets/unet_2d_blocks.py::UNetMidBlock2D as the VAE builds it: resnet ->
// Attention -> resnet, temb None, GroupNorm eps 1e-6. The attention is diffusers'
// Attention(heads=1, dim_head=C, bias=True, norm_num_groups=groups, residual_connection=True):
// GroupNorm -> tokens -> softmax(q k^T / sqrt(C)) v -> to_out.0 -> back to NCHW -> + input.
// The mid block runs at the latent resolution (64 x 64 for a 512 x 512 image).
import type { GpuContext } from '../gpu/context.js';
import { DTYPE_BYTES, type GpuTensor } from '../gpu/tensor.js';
import { add } from '../kernels/elementwise.js';
import { bmm } from '../kernels/matmul.js';
import { softmax } from '../kernels/softmax.js';
import { transpose } from '../kernels/transpose.js';
import { GroupNorm } from '../nn/group_norm.js';
import { Linear } from '../nn/linear.js';
import type { ParamOptions } from '../nn/param.js';
import { tapped, type Tap } from '../nn/tap.js';
import type { Weights } from '../weights/weights.js';
import { ChannelChunks, mergeChunks, resplit, type SplitPlan } from '../nn/channel_chunks.js';
import { VAE_NORM_EPS } from './config.js';
import { ResnetBlock2D } from '../nn/resnet_block_2d.js';

/**
 * diffusers Attention with group_norm, single head of size C; keys group_norm, to_q, to_k, to_v,
 * to_out.0 (all with bias). The head is far wider than the flash kernel's register tiles
 * (C = 512 for SD), so scores are materialised with bmm + softmax, in blocks of query rows small
 * enough for one binding: [1, 4096, 4096] f32 (64 MiB) at a 512 x 512 image.
 */
export class VaeAttention {
  private constructor(readonly group_norm: GroupNorm, readonly to_q: Linear, readonly to_k: Linear, readonly to_v: Linear,
                      readonly to_out: readonly [Linear], readonly channels: number) {}

  static async load(ctx: GpuContext, w: Weights, channels: number, groups: number, opts: ParamOptions): Promise<VaeAttention> {
    const lin = (name: string | number, ...sub: (string | number)[]) => Linear.load(ctx, w.at(name, ...sub), channels, channels, opts);
    const [group_norm, to_q, to_k, to_v, out0] = await Promise.all([
      GroupNorm.load(ctx, w.at('group_norm'), channels, { groups, eps: VAE_NORM_EPS, ...opts }),
      lin('to_q'), lin('to_k'), lin('to_v'), lin('to_out', 0),
    ] as const);
    return new VaeAttention(group_norm, to_q, to_k, to_v, [out0], channels);
  }

  /**
   * x: [N, C, H, W] -> [N, C, H, W] (x is not released); score blocks stay under `budgetBytes`.
   * The intermediates ([N, H*W, C], 8 MiB each at 512 x 512) are freed together at the end.
   */
  forward(ctx: GpuContext, x: GpuTensor, budgetBytes: number): GpuTensor {
    const [N, C, H, W] = x.shape as [number, number, number, number];
    const L = H * W;
    return ctx.scope(() => {
      // 1. group norm, then NCHW -> tokens [N, L, C]
      const h = ctx.within('group_norm', () => this.group_norm.forward(ctx, x));
      const tokens = transpose(ctx, h.view([N, C, L]));
      const q = ctx.within('to_q', () => this.to_q.forward(ctx, tokens));
      const k = ctx.within('to_k', () => this.to_k.forward(ctx, tokens));
      const v = ctx.within('to_v', () => this.to_v.forward(ctx, tokens));
      // 2. o = softmax(q k^T / sqrt(C)) v
      const o = scaledDotProduct(ctx, q, k, v, C ** -0.5, budgetBytes);
      const a = ctx.within('to_out.0', () => this.to_out[0].forward(ctx, o));
      // 3. back to NCHW, + residual (the residual is NCHW, so it cannot ride in to_out's epilogue)
      const y = transpose(ctx, a).view([N, C, H, W]);
      return add(ctx, y, x, y);
    });
  }

  destroy(ctx: GpuContext): void {
    for (const m of [this.group_norm, this.to_q, this.to_k, this.to_v, this.to_out[0]]) m.destroy(ctx);
  }
}

/**
 * q, k, v: [N, L, C] -> softmax(scale * q k^T) v [N, L, C]. The [rows, L] score block of each
 * step fits `budgetBytes`; rows are cut out of q (and samples out of k, v) by buffer copies.
 */
export function scaledDotProduct(ctx: GpuContext, q: GpuTensor, k: GpuTensor, v: GpuTensor, scale: number, budgetBytes: number): GpuTensor {
  const [N, L, C] = q.shape as [number, number, number];
  // scores and probabilities are freed when the block's scope ends
  const attend = (qb: GpuTensor, kb: GpuTensor, vb: GpuTensor) =>
    ctx.scope(() => bmm(ctx, softmax(ctx, bmm(ctx, qb, kb, { transB: true, alpha: scale })), vb));
  if (N * L * L * 4 <= budgetBytes) return attend(q, k, v);
  const rows = Math.max(1, Math.floor(budgetBytes / (L * 4)));
  const rowBytes = C * DTYPE_BYTES[q.dtype];
  const o = ctx.alloc(q.shape, q.dtype);
  for (let n = 0; n < N; n++) {
    const kn = N === 1 ? k : sliceRows0(ctx, k, n * L, L);
    const vn = N === 1 ? v : sliceRows0(ctx, v, n * L, L);
    for (let r0 = 0; r0 < L; r0 += rows) {
      const R = Math.min(rows, L - r0);
      ctx.scope(() => ctx.copy(attend(sliceRows0(ctx, q, n * L + r0, R), kn, vn), o, 0, (n * L + r0) * rowBytes, R * rowBytes));
    }
    if (kn !== k) ctx.release(kn, vn);
  }
  return o;
}

/** Rows [r0, r0 + R) of t [N, L, C] viewed as [N*L, C], as a new [1, R, C] tensor. */
function sliceRows0(ctx: GpuContext, t: GpuTensor, r0: number, R: number): GpuTensor {
  const C = t.shape[2]!, rowBytes = C * DTYPE_BYTES[t.dtype];
  const out = ctx.alloc([1, R, C], t.dtype);
  ctx.copy(t, out, r0 * rowBytes, 0, R * rowBytes);
  return out;
}

export class UNetMidBlock2D {
  private constructor(readonly resnets: readonly [ResnetBlock2D, ResnetBlock2D], readonly attentions: readonly [VaeAttention]) {}

  static async load(ctx: GpuContext, w: Weights, channels: number, groups: number, opts: ParamOptions): Promise<UNetMidBlock2D> {
    const [r0, a0, r1] = await Promise.all([
      ResnetBlock2D.load(ctx, w.at('resnets', 0), channels, channels, { ...opts, groups, eps: VAE_NORM_EPS }),
      VaeAttention.load(ctx, w.at('attentions', 0), channels, groups, opts),
      ResnetBlock2D.load(ctx, w.at('resnets', 1), channels, channels, { ...opts, groups, eps: VAE_NORM_EPS }),
    ]);
    return new UNetMidBlock2D([r0, r1], [a0]);
  }

  /**
   * x: [N, C, H, W] -> same; x is not released. The attention needs the whole activation in one
   * tensor; the mid block runs at the latent resolution, where it fits.
   */
  forward(ctx: GpuContext, x: ChannelChunks, plan: SplitPlan, tap?: Tap): ChannelChunks {
    const h0 = tapped(ctx, tap, 'resnets.0', () => this.resnets[0].forwardChunks(ctx, x, plan));
    const h1 = tapped(ctx, tap, 'attentions.0', () => {
      const whole = mergeChunks(ctx, h0);
      const y = ChannelChunks.of(this.attentions[0].forward(ctx, whole, plan.budget));
      if (whole !== h0.parts[0]) ctx.release(whole);
      const split = resplit(ctx, y, plan(y.shape));
      if (split !== y) y.release(ctx);
      return split;
    });
    h0.release(ctx);
    const h2 = tapped(ctx, tap, 'resnets.1', () => this.resnets[1].forwardChunks(ctx, h1, plan));
    h1.release(ctx);
    return h2;
  }

  destroy(ctx: GpuContext): void {
    for (const r of this.resnets) r.destroy(ctx);
    this.attentions[0].destroy(ctx);
  }
}
