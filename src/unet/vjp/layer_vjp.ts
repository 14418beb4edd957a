// Input gradients (vector-Jacobian products) of the UNet's convolutional layers, with respect to
// their input only: weights and the time embedding are constants (ours; issue 15). Each takes the
// layer's saved INPUT and the gradient of its output, recomputes the few internals the backward
// needs (per-layer checkpointing: nothing inside a layer is kept by the forward), and returns
// dx. Shapes and dtypes are those of the forward.
import type { GpuContext } from '../../gpu/context.js';
import { check, shapeStr, type GpuTensor } from '../../gpu/tensor.js';
import { conv2d } from '../../kernels/conv2d.js';
import { conv2dBackward } from '../../kernels/conv2d_backward.js';
import { add } from '../../kernels/elementwise.js';
import { groupNorm } from '../../kernels/group_norm.js';
import { groupNormBackward } from '../../kernels/group_norm_backward.js';
import { upsampleNearestBackward } from '../../kernels/upsample_nearest_backward.js';
import type { Conv2d } from '../../nn/conv2d.js';
import type { GroupNorm } from '../../nn/group_norm.js';
import type { ResnetBlock2D } from '../../nn/resnet_block_2d.js';
import type { Downsample2D } from '../downsample_2d.js';
import type { Upsample2D } from '../upsample_2d.js';

/** conv: dy [N, O, Ho, Wo] -> dx [N, C, H, W] (xShape: the forward input's); acc is added */
export function convVjp(ctx: GpuContext, conv: Conv2d, xShape: readonly number[], dy: GpuTensor, acc?: GpuTensor): GpuTensor {
  return conv2dBackward(ctx, dy, conv.weight, xShape, { stride: conv.stride, pad: conv.pad, acc });
}

/** silu?(GroupNorm(x)): x the forward input, dy -> dx (+ acc) */
export function normVjp(ctx: GpuContext, gn: GroupNorm, x: GpuTensor, dy: GpuTensor, silu: boolean, acc?: GpuTensor): GpuTensor {
  return groupNormBackward(ctx, x, dy, gn.weight, gn.bias, { groups: gn.groups, eps: gn.eps, silu, acc });
}

/**
 * ResnetBlock2D (src/nn/resnet_block_2d.ts): y = sc(x) + conv2(silu(gn2(conv1(silu(gn1(x))) + tproj))).
 * tproj = time_emb_proj(silu(temb)) [N, outC] is a constant of the input (computed once per tape).
 * Recomputed here: h = conv1(silu(gn1(x))) + tproj only (the convs' backward needs shapes, not inputs).
 */
export function resnetVjp(ctx: GpuContext, r: ResnetBlock2D, x: GpuTensor, tproj: GpuTensor | undefined, dy: GpuTensor): GpuTensor {
  check(x.shape[1] === r.inChannels, `resnetVjp: input ${shapeStr(x.shape)} for ${r.inChannels} channels`);
  const a = groupNorm(ctx, x, r.norm1.weight, r.norm1.bias, { groups: r.norm1.groups, eps: r.norm1.eps, silu: true });
  const c1 = conv2d(ctx, a, r.conv1.weight, r.conv1.bias, { stride: r.conv1.stride, pad: r.conv1.pad });
  ctx.release(a);
  const h = tproj ? add(ctx, c1, tproj) : c1;
  if (h !== c1) ctx.release(c1);
  // backward: conv2 -> silu(gn2) -> conv1 -> silu(gn1), the shortcut's gradient added in gn1's epilogue
  const db = convVjp(ctx, r.conv2, h.shape, dy);
  const dh = normVjp(ctx, r.norm2, h, db, true);
  ctx.release(db);
  const da = convVjp(ctx, r.conv1, x.shape, dh);
  ctx.release(dh);
  const dsc = r.conv_shortcut ? convVjp(ctx, r.conv_shortcut, x.shape, dy) : dy;
  const dx = normVjp(ctx, r.norm1, x, da, true, dsc);
  ctx.release(da, h);
  if (dsc !== dy) ctx.release(dsc);
  return dx;
}

/** Downsample2D: a 3x3 stride-2 conv. */
export function downsampleVjp(ctx: GpuContext, d: Downsample2D, x: GpuTensor, dy: GpuTensor): GpuTensor {
  return convVjp(ctx, d.conv, x.shape, dy);
}

/** Upsample2D: nearest 2x then a 3x3 conv; only the exact 2x (latents divisible by 8) is differentiated. */
export function upsampleVjp(ctx: GpuContext, u: Upsample2D, x: GpuTensor, dy: GpuTensor): GpuTensor {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  check(dy.shape[2] === 2 * H && dy.shape[3] === 2 * W,
    `UNet VJP: upsampling ${H}x${W} to ${dy.shape[2]}x${dy.shape[3]} is not 2x (the latent size must be a multiple of 8)`);
  const du = convVjp(ctx, u.conv, [N, C, 2 * H, 2 * W], dy);
  const dx = upsampleNearestBackward(ctx, du);
  ctx.release(du);
  return dx;
}
