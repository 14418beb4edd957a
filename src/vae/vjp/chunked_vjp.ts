// Input gradients of the VAE decoder's layers on channel chunks (ours; issue 15), for decodes
// whose activations exceed one storage binding: at a 64 x 64 latent (512 x 512 image) SD 1.4's
// decoder holds [1, 256, 512, 512] and [1, 512, 256, 256] f32 tensors (256 and 128 MiB) against
// the 128 MiB maxStorageBufferBindingSize of many devices. The forward's chunk algebra
// (src/nn/channel_chunks.ts), transposed:
//  - conv: the forward's output part j = sum_i conv(x_i, W[j, i]), so dx_i = sum_j conv^T(dy_j,
//    W[j, i]): conv2d_backward.ts per weight block (the forward's cached blocks, chunked_ops.ts),
//    the partial sums chained through its acc epilogue; dx is split as the forward's input was.
//  - GroupNorm: the forward's parts hold whole groups (planChannelSplit: k parts, k | groups), so
//    a group's statistics and its two gradient sums never straddle parts: the backward runs per
//    part with that part's gamma/beta slice, as the forward does.
//  - nearest upsampling: per part; the forward's resplit before it (a channel copy) is undone by
//    a resplit of the gradient back to the input's split (a permutation's adjoint is its inverse).
// With one part everywhere each function IS the whole-tensor backward (same calls, same bits):
// only what no single binding holds is split, as in the forward.
import type { GpuContext } from '../../gpu/context.js';
import { check, type GpuTensor } from '../../gpu/tensor.js';
import { conv2dBackward } from '../../kernels/conv2d_backward.js';
import { groupNormBackward } from '../../kernels/group_norm_backward.js';
import { upsampleNearestBackward } from '../../kernels/upsample_nearest_backward.js';
import { ChannelChunks, resplit, sameSizes, type SplitPlan } from '../../nn/channel_chunks.js';
import { conv2dChunks, convBlocks, groupNormChunks, normSlices } from '../../nn/chunked_ops.js';
import type { Conv2d } from '../../nn/conv2d.js';
import type { GroupNorm } from '../../nn/group_norm.js';
import type { ResnetBlock2D } from '../../nn/resnet_block_2d.js';
import { resnetVjp } from '../../unet/vjp/layer_vjp.js';
import type { Upsample2D } from '../up_decoder_block_2d.js';

/** The forward input's split and size: all a conv's input gradient needs of it. */
export type ChunkGeometry = Pick<ChannelChunks, 'sizes' | 'N' | 'H' | 'W'>;

/** conv: dy (split as the forward's output) -> dx split as the forward's input `x`. */
export function convVjpChunks(ctx: GpuContext, conv: Conv2d, x: ChunkGeometry, dy: ChannelChunks): ChannelChunks {
  const opts = { stride: conv.stride, pad: conv.pad }, xs = x.sizes;
  if (xs.length === 1 && dy.single) return ChannelChunks.of(conv2dBackward(ctx, dy.parts[0]!, conv.weight, [x.N, xs[0]!, x.H, x.W], opts));
  const blocks = convBlocks(ctx, conv, xs, dy.sizes);
  return new ChannelChunks(xs.map((ci, i) => {
    let acc: GpuTensor | undefined;
    dy.parts.forEach((d, j) => {
      const next = conv2dBackward(ctx, d, blocks.w[j]![i]!, [x.N, ci, x.H, x.W], { ...opts, acc });
      ctx.release(acc);
      acc = next;
    });
    return acc!;
  }));
}

/** silu?(GroupNorm(x)): x the forward input, dy the gradient of its output (same split) -> dx (+ acc, same split). */
export function normVjpChunks(ctx: GpuContext, gn: GroupNorm, x: ChannelChunks, dy: ChannelChunks, silu: boolean,
                              acc?: ChannelChunks): ChannelChunks {
  check(sameSizes(x.sizes, dy.sizes) && (!acc || sameSizes(x.sizes, acc.sizes)),
    `GroupNorm VJP: x split [${x.sizes}], dy [${dy.sizes}], acc [${acc?.sizes}] differ`);
  const eps = gn.eps;
  if (x.single) {
    return ChannelChunks.of(groupNormBackward(ctx, x.parts[0]!, dy.parts[0]!, gn.weight, gn.bias,
      { groups: gn.groups, eps, silu, acc: acc?.parts[0] }));
  }
  const perGroup = gn.channels / gn.groups;
  check(x.C === gn.channels && x.sizes.every((c) => c % perGroup === 0),
    `GroupNorm(${gn.channels}, groups ${gn.groups}) VJP: chunks [${x.sizes}] do not hold whole groups`);
  const s = normSlices(ctx, gn, x.sizes);
  return new ChannelChunks(x.parts.map((p, i) => groupNormBackward(ctx, p, dy.parts[i]!, s.gamma[i]!, s.beta[i]!,
    { groups: p.shape[1]! / perGroup, eps, silu, acc: acc?.parts[i] })));
}

/**
 * ResnetBlock2D without a time embedding (the VAE's), y = sc(x) + conv2(silu(gn2(conv1(silu(gn1(x)))))),
 * split as the forward splits it (`plan`). Unsplit, it is the UNet VJP's resnetVjp itself.
 */
export function resnetVjpChunks(ctx: GpuContext, r: ResnetBlock2D, x: ChannelChunks, dy: ChannelChunks, plan: SplitPlan): ChannelChunks {
  const outSplit = plan([x.N, r.outChannels, x.H, x.W]);
  if (x.single && outSplit.length === 1) return ChannelChunks.of(resnetVjp(ctx, r, x.parts[0]!, undefined, dy.parts[0]!));
  check(sameSizes(dy.sizes, outSplit), `ResnetBlock2D VJP: dy split [${dy.sizes}] is not the forward's [${outSplit}]`);
  // Released by hand as soon as read, as the chunked forward does (each part may be 128 MiB).
  // recompute h = conv1(silu(gn1(x))): norm2's backward needs h, the convs' only shapes
  const a = groupNormChunks(ctx, r.norm1, x, true);
  const h = conv2dChunks(ctx, r.conv1, a, outSplit);
  a.release(ctx);
  // backward: conv2 -> silu(gn2) -> conv1 -> silu(gn1), the shortcut's gradient added in gn1's epilogue
  const db = convVjpChunks(ctx, r.conv2, h, dy);
  const dh = normVjpChunks(ctx, r.norm2, h, db, true);
  db.release(ctx);
  h.release(ctx);
  const da = convVjpChunks(ctx, r.conv1, x, dh);
  dh.release(ctx);
  const dsc = r.conv_shortcut ? convVjpChunks(ctx, r.conv_shortcut, x, dy) : resplit(ctx, dy, x.sizes);
  const dx = normVjpChunks(ctx, r.norm1, x, da, true, dsc);
  da.release(ctx);
  if (dsc !== dy) dsc.release(ctx);
  return dx;
}

/**
 * Upsample2D (up_decoder_block_2d.ts): resplit x as its x2 copy must be, nearest 2x per part, 3x3
 * conv. dy is split as the forward's output, which is the x2 copy's split.
 */
export function upsampleVjpChunks(ctx: GpuContext, u: Upsample2D, x: ChannelChunks, dy: ChannelChunks): ChannelChunks {
  const du = convVjpChunks(ctx, u.conv, { sizes: dy.sizes, N: x.N, H: 2 * x.H, W: 2 * x.W }, dy);
  const dxs = new ChannelChunks(du.parts.map((p) => upsampleNearestBackward(ctx, p)));
  du.release(ctx);
  const dx = resplit(ctx, dxs, x.sizes);
  if (dx !== dxs) dxs.release(ctx);
  return dx;
}
