// Input gradient of conv2d (conv2d.ts) with respect to x: the transposed convolution. Weight
// gradients are never needed (the UNet VJP differentiates the latent only). Three routes:
//  - 1x1 stride 1 unpadded: dx = W^T dy per pixel, a GEMM on matmul.ts (w read transposed in
//    place, no copy), like linear_backward.ts.
//  - other stride-1 convs ('flipped', default): dx = conv2d(dy, flip(w), pad K-1-pad), the
//    forward conv on weights with channel roles swapped and taps rotated. It reuses every
//    forward variant and its per-adapter measured choice; the flipped copy is made per call and
//    freed after (O*C*KH*KW values: one pass over the weights, negligible beside the conv).
//  - stride > 1 (the UNet's downsamplers) or `variant: 'direct'`: conv2d_backward.wgsl, a
//    gather over the taps whose stride division is exact, one dispatch per parity class of
//    input pixels so each walks only its own taps (no zero-stuffing buffer, no atomics).
// Reference: src/kernels/reference/conv2d_backward.ts (checked against finite differences).
import type { GpuContext } from '../gpu/context.js';
import { defineKernel } from '../gpu/kernel.js';
import { check, GpuTensor, shapeStr } from '../gpu/tensor.js';
import { conv2d, convGeometry, isPointwise, releaseConvWeights, type ConvGeometry } from './conv2d.js';
import { grid1d } from './grid.js';
import { dummyTensor, gemm, type MatmulVariant } from './matmul.js';
import { wgsl } from './wgsl.gen.js';

export const conv2dBackwardKernel = defineKernel({
  name: 'conv2d_backward', source: wgsl.conv2d_backward, overrides: { WG_X: 16, WG_Y: 16, BK: 16 },
});
export const conv2dWeightFlipKernel = defineKernel({ name: 'conv2d_weight_flip', source: wgsl.conv2d_weight_flip, overrides: { WG: 256 } });

export type Conv2dBackwardVariant = 'gemm' | 'flipped' | 'direct';

export interface Conv2dBackwardOptions {
  stride?: number;
  /** as the forward: symmetric, or [top, bottom, left, right] */
  pad?: number | readonly [number, number, number, number];
  /** [N, C, H, W]: a gradient already flowing into x (a residual branch), added in the epilogue */
  acc?: GpuTensor;
  /** force a route (tests); default: 'gemm' for 1x1, 'flipped' for stride 1, else 'direct' */
  variant?: Conv2dBackwardVariant;
  /** the matmul variant of the 'gemm' route (default: measured) */
  gemmVariant?: MatmulVariant;
}

/** The route conv2dBackward takes by default. */
export function conv2dBackwardVariant(g: ConvGeometry): Conv2dBackwardVariant {
  if (isPointwise(g)) return 'gemm';
  const fits = g.stride === 1 && g.pad[0] < g.KH && g.pad[1] < g.KH && g.pad[2] < g.KW && g.pad[3] < g.KW;
  return fits ? 'flipped' : 'direct';
}

/** w [O, C, KH, KW] -> [C, O, KH, KW], taps rotated 180 degrees (a new pooled tensor). */
export function flipConvWeights(ctx: GpuContext, w: GpuTensor): GpuTensor {
  check(w.shape.length === 4, `conv2d_backward: w must be [O, C, kh, kw], got ${shapeStr(w.shape)}`);
  const [O, C, KH, KW] = w.shape as [number, number, number, number];
  const wf = ctx.alloc([C, O, KH, KW], w.dtype);
  const g = grid1d(w.size, 256);
  ctx.dispatch(conv2dWeightFlipKernel, { w, wf }, { n: w.size, O, C, KK: KH * KW, row_stride: g.rowStride }, g.workgroups,
    { types: { T: w.dtype, W: w.dtype } });
  return wf;
}

/**
 * dy: [N, O, Ho, Wo] (the gradient of conv2d's output), w: [O, C, kh, kw], xShape: the forward
 * input's [N, C, H, W] (needed: with stride 2, H = 2 Ho and H = 2 Ho - 1 give the same Ho)
 * -> dx [N, C, H, W] (dtype of dy; weights f32 or f16).
 */
export function conv2dBackward(ctx: GpuContext, dy: GpuTensor, w: GpuTensor, xShape: readonly number[],
                               opts: Conv2dBackwardOptions = {}): GpuTensor {
  const g = convGeometry(xShape, w.shape, opts.stride ?? 1, opts.pad ?? 0);
  const yShape = [g.N, g.O, g.Ho, g.Wo];
  check(dy.shape.length === 4 && dy.shape.every((d, i) => d === yShape[i]),
    `conv2d_backward: dy ${shapeStr(dy.shape)} must be the forward output's ${shapeStr(yShape)}`);
  const { acc } = opts;
  check(!acc || (acc.size === g.N * g.C * g.H * g.W && acc.dtype === dy.dtype),
    `conv2d_backward: acc ${acc && shapeStr(acc.shape)} ${acc?.dtype} must be ${shapeStr(xShape)} ${dy.dtype}`);
  const variant = opts.variant ?? conv2dBackwardVariant(g);
  if (variant === 'gemm') {
    check(isPointwise(g), `conv2d_backward: the 'gemm' route takes 1x1 stride-1 unpadded convs only`);
    const HW = g.H * g.W, dx = ctx.alloc(xShape, dy.dtype);
    // dx[n, c, p] = sum_o dy[n, o, p] w[o, c]: A(n, p, o) = dy, B(o, c) = w[o * C + c]
    gemm(ctx, {
      batch: g.N, M: HW, N: g.C, K: g.O,
      a: dy, aSb: g.O * HW, aSm: 1, aSk: HW,
      b: w, bSb: 0, bSn: 1, bSk: g.C,
      y: dx, ySb: g.C * HW, ySm: 1, ySn: HW, residual: acc,
    }, opts.gemmVariant);
    return dx;
  }
  if (variant === 'flipped') {
    check(conv2dBackwardVariant(g) !== 'direct',
      `conv2d_backward: the 'flipped' route needs stride 1 and pads below the kernel size (stride ${g.stride}, pad [${g.pad}])`);
    const wf = flipConvWeights(ctx, w);
    const [pt, pb, pl, pr] = g.pad;
    const dx = conv2d(ctx, dy, wf, undefined, { pad: [g.KH - 1 - pt, g.KH - 1 - pb, g.KW - 1 - pl, g.KW - 1 - pr], residual: acc });
    releaseConvWeights(ctx, wf);  // conv2d_rows may have cached a transposed copy of wf
    ctx.release(wf);
    return dx;
  }
  const cols = Math.ceil(g.C / 64);
  check(cols <= ctx.limits.maxComputeWorkgroupsPerDimension, `conv2d_backward: ${g.C} input channels need ${cols} workgroups`);
  const dx = ctx.alloc(xShape, dy.dtype);
  const s = g.stride;
  // one dispatch per parity class of input pixels (stride^2 of them; one at stride 1)
  for (let ph = 0; ph < Math.min(s, g.H); ph++) for (let pw = 0; pw < Math.min(s, g.W); pw++) {
    const Hc = Math.ceil((g.H - ph) / s), Wc = Math.ceil((g.W - pw) / s), M = g.N * Hc * Wc;
    const rows = Math.ceil(M / 64);
    ctx.dispatch(conv2dBackwardKernel, { dy, w, acc: acc ?? dummyTensor(ctx), dx }, {
      M, C: g.C, O: g.O, H: g.H, W: g.W, Ho: g.Ho, Wo: g.Wo, KH: g.KH, KW: g.KW, stride: s,
      pad_t: g.pad[0], pad_l: g.pad[2], has_acc: acc ? 1 : 0, ph, pw, Hc, Wc,
    }, [cols, Math.min(rows, 65535), Math.ceil(rows / 65535)], { types: { T: dy.dtype, W: w.dtype } });
  }
  return dx;
}
