// Conv2d (NCHW, groups 1, dilation 1) as an implicit GEMM: rows are output pixels, columns
// output channels, k = (input channel, tap); no im2col buffer. Four algorithm files, chosen per
// adapter by measurement (select_variant.ts): tiled (workgroup memory, GPUs), regblock, subgroup,
// and rows (CPU adapters; 8-pixel rows sharing vector-loaded input segments, transposed weights). A 1x1 stride-1 unpadded conv is also a plain GEMM over NCHW pixels: for
// those the matmul variants ('gemm/<variant>', matmul.ts) are candidates too, measured alongside.
// Bindings larger than maxStorageBufferBindingSize are refused with the limit named: callers
// split channels (src/nn/chunked_ops.ts) and chain the partial sums through `residual`.
import type { GpuContext } from '../gpu/context.js';
import { defineKernel } from '../gpu/kernel.js';
import { check, GpuTensor, shapeStr, type DType } from '../gpu/tensor.js';
import { Rng } from '../util/rng.js';
import {
  dummyTensor, gemm, gemmPlan, laneWorkgroupFor, matmulVariants, provisionalMatmul, type Gemm, type MatmulVariant,
} from './matmul.js';
import { convOutSize, padOf } from './reference/conv2d.js';
import { transpose } from './transpose.js';
import { bucket, recordPlan, selectVariant, type DispatchPlan, type TuneRequest } from './select_variant.js';
import { wgsl } from './wgsl.gen.js';

export const conv2dTiledKernel = defineKernel({ name: 'conv2d_tiled', source: wgsl.conv2d_tiled, overrides: { WG_X: 16, WG_Y: 16, BK: 16 } });
export const conv2dRegblockKernel = defineKernel({ name: 'conv2d_regblock', source: wgsl.conv2d_regblock, overrides: { R: 4, WG: 64 } });
export const conv2dSubgroupKernel = defineKernel({ name: 'conv2d_subgroup', source: wgsl.conv2d_subgroup, overrides: { R: 8, WG: 64 } });
export const conv2dRowsKernel = defineKernel({
  name: 'conv2d_rows', source: wgsl.conv2d_rows, overrides: { WG: 16, KH: 3, KW: 3, S: 1, PL: 1, NSEG: 4 },
});

export const CONV2D_VARIANTS = ['tiled', 'regblock', 'subgroup', 'rows'] as const;
export type Conv2dVariant = (typeof CONV2D_VARIANTS)[number];
/** What the selector chooses among: a conv kernel, or (1x1 convs) a GEMM variant over the pixels. */
export type Conv2dChoice = Conv2dVariant | `gemm/${MatmulVariant}`;

export interface Conv2dOptions {
  stride?: number;
  /** symmetric, or [top, bottom, left, right] (the VAE encoder's downsampler uses [0, 1, 0, 1]) */
  pad?: number | readonly [number, number, number, number];
  /** [N, O, Ho, Wo], added in the epilogue */
  residual?: GpuTensor;
  /**
   * a per-(sample, output channel) term added in the epilogue, t[off + n*stride + o] (the UNet
   * resnets' time-embedding projection, read from one batched [N, sum O] GEMM): saves the
   * broadcast add's dispatch and its full-tensor pass. Not with `residual`.
   */
  channelBias?: ChannelBias;
  /**
   * convolve nearest-2x-upsampled x without materialising it (the UNet's Upsample2D): the gather
   * reads x at (ih >> 1, iw >> 1). The output is that of the conv over [N, C, 2H, 2W].
   */
  upsample2x?: boolean;
  /**
   * force an algorithm: a conv kernel (for any kernel size), or 'gemm' (1x1 stride-1 unpadded
   * only) with `gemmVariant`; default: 1x1 -> 'gemm', else measured per adapter and shape class
   */
  variant?: Conv2dVariant | 'gemm';
  /** the matmul variant of the 'gemm' route (default: measured) */
  gemmVariant?: MatmulVariant;
}

export interface ChannelBias { t: GpuTensor; off: number; stride: number }

/** The geometry of one conv call, in the kernels' Params names. */
export interface ConvGeometry {
  N: number; C: number; H: number; W: number; O: number; KH: number; KW: number;
  stride: number; pad: [number, number, number, number]; Ho: number; Wo: number;
  /** log2 of the fused nearest upsampling (0: none, 1: 2x); H, W are x's own size */
  ush: number;
}

export function convGeometry(xShape: readonly number[], wShape: readonly number[], stride = 1,
                             pad: number | readonly [number, number, number, number] = 0, ush = 0): ConvGeometry {
  check(xShape.length === 4 && wShape.length === 4 && xShape[1] === wShape[1],
    `conv2d: x ${shapeStr(xShape)} does not fit w ${shapeStr(wShape)} ([O, C, kh, kw])`);
  const [N, C, H, W] = xShape as [number, number, number, number];
  const [O, , KH, KW] = wShape as [number, number, number, number];
  const p = padOf(pad);
  check(Number.isInteger(stride) && stride >= 1 && p.every((v) => Number.isInteger(v) && v >= 0), `conv2d: stride ${stride}, pad [${p}]`);
  const Ho = convOutSize(H << ush, KH, stride, p[0], p[1]), Wo = convOutSize(W << ush, KW, stride, p[2], p[3]);
  check(Ho >= 1 && Wo >= 1, `conv2d: empty output for x ${shapeStr(xShape)}, kernel ${KH}x${KW}, stride ${stride}, pad [${p}]`);
  return { N, C, H, W, O, KH, KW, stride, pad: p, Ho, Wo, ush };
}

/** The conv kernels valid on this device (and for geometry `g` when given). */
export function conv2dVariants(ctx: GpuContext, g?: ConvGeometry): Conv2dVariant[] {
  return CONV2D_VARIANTS.filter((v) => (v !== 'subgroup' && v !== 'rows') || ctx.hasSubgroups)
    .filter((v) => v !== 'rows' || !g || rowsFits(g));
}

/** conv2d_rows' limits: 4-aligned input rows and channel groups, stride 1 or 2, the taps inside a segment. */
export function rowsFits(g: ConvGeometry): boolean {
  const pl = g.pad[2]!;
  return g.ush === 0 && g.O % 4 === 0 && g.W % 4 === 0 && (g.stride === 1 || g.stride === 2) && pl <= 4 &&
    g.KW - pl <= (g.stride === 1 ? 5 : 6);
}

const transposedWeights = new WeakMap<GpuTensor, GpuTensor>();
/** w [O, C, kh, kw] as [C*kh*kw, O] (made on first use and kept with w; see releaseConvWeights). */
export function convWeightsTransposed(ctx: GpuContext, w: GpuTensor): GpuTensor {
  let t = transposedWeights.get(w);
  if (!t) transposedWeights.set(w, (t = ctx.keep(transpose(ctx, w.view([w.shape[0]!, w.size / w.shape[0]!])))));
  return t;
}

/** Frees the transposed copy conv2d_rows made of `w` (call before destroying w, or to save memory). */
export function releaseConvWeights(ctx: GpuContext, w: GpuTensor): void {
  ctx.release(transposedWeights.get(w));
  transposedWeights.delete(w);
}

export function isPointwise(g: ConvGeometry): boolean {
  return g.KH === 1 && g.KW === 1 && g.stride === 1 && g.ush === 0 && g.pad.every((v) => v === 0);
}

/** The candidates for one conv: the conv kernels, plus every GEMM variant when it is 1x1. */
export function conv2dChoices(ctx: GpuContext, g: ConvGeometry): Conv2dChoice[] {
  const gemms = isPointwise(g) ? matmulVariants(ctx).map((v) => `gemm/${v}` as const) : [];
  return [...conv2dVariants(ctx, g), ...gemms];
}

/** A 1x1 stride-1 unpadded conv as a GEMM: A(n, pixel, c) = x[n*C*HW + c*HW + pixel], B(c, o) = w[o*C + c]. */
export function pointwiseGemm(g: ConvGeometry, x: GpuTensor, w: GpuTensor, y: GpuTensor, bias?: GpuTensor,
                              residual?: GpuTensor): Gemm {
  const HW = g.H * g.W;
  return {
    batch: g.N, M: HW, N: g.O, K: g.C,
    a: x, aSb: g.C * HW, aSm: 1, aSk: HW,
    b: w, bSb: 0, bSn: g.C, bSk: 1,
    y, ySb: g.O * HW, ySm: 1, ySn: HW, bias, residual,
  };
}

/** The dispatch of one conv with one choice (whole tensors bound, offsets 0). */
export function conv2dChoicePlan(ctx: GpuContext, g: ConvGeometry, x: GpuTensor, w: GpuTensor, y: GpuTensor,
                                 choice: Conv2dChoice, bias?: GpuTensor, residual?: GpuTensor, cb?: ChannelBias): DispatchPlan {
  if (choice.startsWith('gemm/')) {
    check(isPointwise(g), `conv2d: '${choice}' takes 1x1 stride-1 unpadded convs only`);
    check(!cb, 'conv2d: a channel bias needs a conv kernel, not the GEMM route');
    return gemmPlan(ctx, pointwiseGemm(g, x, w, y, bias, residual), choice.slice(5) as MatmulVariant);
  }
  return conv2dPlan(ctx, g, x, w, y, choice as Conv2dVariant, bias, residual, cb);
}

/** The dispatch of one conv with one variant (whole tensors bound, offsets 0). */
export function conv2dPlan(ctx: GpuContext, g: ConvGeometry, x: GpuTensor, w: GpuTensor, y: GpuTensor,
                           variant: Conv2dVariant, bias?: GpuTensor, residual?: GpuTensor, cb?: ChannelBias): DispatchPlan {
  check(!bias || bias.dtype === w.dtype, `conv2d: bias is ${bias?.dtype}, weights ${w.dtype}`);
  check(!residual || residual.dtype === x.dtype, `conv2d: residual is ${residual?.dtype}, activations ${x.dtype}`);
  check(!cb || (!residual && cb.t.dtype === x.dtype && cb.off + (g.N - 1) * cb.stride + g.O <= cb.t.size),
    `conv2d: channel bias ${cb && shapeStr(cb.t.shape)} (off ${cb?.off}, stride ${cb?.stride}) for [${g.N}, ${g.O}] (not with a residual)`);
  // the channel bias rides in the residual binding (flag 8), so no kernel gains a binding
  if (cb) residual = cb.t;
  const M = g.N * g.Ho * g.Wo;
  const params = {
    M, O: g.O, C: g.C, H: g.H, W: g.W, Ho: g.Ho, Wo: g.Wo, KH: g.KH, KW: g.KW, stride: g.stride,
    pad_t: g.pad[0], pad_l: g.pad[2], x_off: 0, x_sn: g.C * g.H * g.W, w_off: 0, w_so: g.C * g.KH * g.KW,
    y_off: 0, y_sn: g.O * g.Ho * g.Wo, r_off: cb?.off ?? 0, bias_off: 0,
    flags: (bias ? 1 : 0) | (cb ? 8 : residual ? 2 : 0), r_sn: cb?.stride ?? 0, ush: g.ush,
  };
  const dummy = dummyTensor(ctx);
  if (variant === 'rows') return rowsPlan(ctx, g, x, w, y, bias ?? dummy, residual ?? dummy, params.flags, params.r_off, params.r_sn);
  const bindings: Record<string, GpuTensor> = { x, w, bias: bias ?? dummy, residual: residual ?? dummy, y };
  let kernel = conv2dTiledKernel, overrides: Record<string, number> = {}, cols: number, rows: number;
  if (variant === 'tiled') {
    cols = Math.ceil(g.O / 64);
    rows = Math.ceil(M / 64);
  } else {
    check(variant !== 'subgroup' || ctx.hasSubgroups, 'conv2d: the subgroup variant needs the subgroups feature');
    kernel = variant === 'subgroup' ? conv2dSubgroupKernel : conv2dRegblockKernel;
    const W4 = (g.C * g.KH * g.KW) % 4 === 0;  // weight rows as 4-vectors
    const R = variant === 'subgroup' ? 8 : 4, WG = laneWorkgroupFor(ctx, Math.ceil(g.O / 4));
    overrides = { R, WG, W4: +W4 };
    bindings.w4 = W4 ? w : dummy;
    cols = Math.ceil(g.O / (4 * WG));
    rows = Math.ceil(M / R);
  }
  // pixel tiles fold into y and z (the kernels read row tile wg.z * 65535 + wg.y)
  const wg: [number, number, number] = [cols, Math.min(rows, 65535), Math.ceil(rows / 65535)];
  check(cols <= ctx.limits.maxComputeWorkgroupsPerDimension, `conv2d: ${g.O} output channels need ${cols} workgroups`);
  return { kernel, bindings, params, workgroups: wg, types: { T: x.dtype, W: w.dtype }, overrides };
}

function rowsPlan(ctx: GpuContext, g: ConvGeometry, x: GpuTensor, w: GpuTensor, y: GpuTensor, bias: GpuTensor,
                  residual: GpuTensor, flags: number, rOff = 0, rSn = 0): DispatchPlan {
  check(ctx.hasSubgroups && rowsFits(g), `conv2d: the rows variant does not fit x [${g.N},${g.C},${g.H},${g.W}], ` +
    `O ${g.O}, ${g.KH}x${g.KW} stride ${g.stride} pad [${g.pad}] (needs subgroups, O and W multiples of 4, stride 1 or 2)`);
  const blocks = g.N * g.Ho * Math.ceil(g.Wo / 8), WG = laneWorkgroupFor(ctx, g.O / 4);
  const params = {
    M: blocks, O: g.O, C: g.C, H: g.H, W: g.W, Ho: g.Ho, Wo: g.Wo, pad_t: g.pad[0], x_off: 0, x_sn: g.C * g.H * g.W,
    y_off: 0, y_sn: g.O * g.Ho * g.Wo, r_off: rOff, bias_off: 0, flags, r_sn: rSn,
  };
  const overrides = { WG, KH: g.KH, KW: g.KW, S: g.stride, PL: g.pad[2], NSEG: g.stride === 1 ? 4 : 6 };
  const bindings = { x4: x, wt4: convWeightsTransposed(ctx, w), bias, residual, y };
  const wg: [number, number, number] = [Math.ceil(g.O / 4 / WG), Math.min(blocks, 65535), Math.ceil(blocks / 65535)];
  return { kernel: conv2dRowsKernel, bindings, params, workgroups: wg, types: { T: x.dtype, W: w.dtype }, overrides };
}

// Channel and pixel buckets fine enough that a small model's layers (32-96 channels at 2x2 to 8x8
// on the embedded UNet) do not share one choice measured on the first of them, coarse enough that
// SD 1.4's (320 / 640 / 1280 channels) fall into a few classes.
const C_BOUNDS = [16, 32, 64, 128, 320, 640], P_BOUNDS = [16, 64, 256, 1024, 4096];

/** Shape class: kernel size, stride, channel and pixel buckets; proxy: same kernel at <= 8x8 output (32x32 on GPUs), up to 4 such images of the batch. */
export function conv2dTuneRequest(ctx: GpuContext, g: ConvGeometry, types: { T: DType; W: DType }): TuneRequest<Conv2dChoice> {
  const pix = g.N * g.Ho * g.Wo;
  const shapeClass = `k${g.KH}x${g.KW}s${g.stride}|c${bucket(g.C, C_BOUNDS)}|o${bucket(g.O, C_BOUNDS)}|p${bucket(pix, P_BOUNDS)}` +
    ((g.C * g.KH * g.KW) % 4 ? '|k%4' : '') + (g.ush ? '|up2' : '');
  const cpu = ctx.adapter.isFallbackAdapter;  // GPUs: a larger proxy (the timer also repeats it)
  const C = g.C <= 256 ? g.C : 256 + (g.C % 4), O = Math.min(g.O, 256), side = cpu ? 8 : 32;
  const H = Math.min(g.H, side * g.stride), W = Math.min(g.W, side * g.stride);
  // small images keep some of their batch, so that the proxy has >= 256 output pixels (a few
  // timer quanta on lavapipe) when the real problem has them
  const one = convGeometry([1, C, H, W], [O, C, g.KH, g.KW], g.stride, g.pad);
  const N = Math.min(g.N, Math.max(1, Math.floor((4 * side * side) / (one.Ho * one.Wo))));
  const pg = { ...one, N };
  return {
    op: 'conv2d', shapeClass, dtype: `${types.T}/${types.W}`, candidates: conv2dChoices(ctx, g),
    proxy(c) {
      const rng = new Rng(2);
      const x = c.upload(rng.normals(N * C * H * W), [N, C, H, W], types.T);
      const w = c.upload(rng.normals(O * C * g.KH * g.KW), [O, C, g.KH, g.KW], types.W);
      const y = c.alloc([N, O, pg.Ho, pg.Wo], types.T);
      return {
        label: `[${N},${C},${H},${W}] * [${O},${C},${g.KH},${g.KW}] s${g.stride}`,
        plan: (v) => [conv2dChoicePlan(c, pg, x, w, y, v)],
        dispose: () => { releaseConvWeights(c, w); c.release(x, w, y); },
      };
    },
  };
}

export function provisionalConv2d(ctx: GpuContext, g: ConvGeometry): Conv2dChoice {
  if (isPointwise(g)) return `gemm/${provisionalMatmul(ctx)}`;
  if (!ctx.adapter.isFallbackAdapter) return 'tiled';
  return ctx.hasSubgroups ? 'subgroup' : 'regblock';
}

/** x: [N, C, H, W], w: [O, C, kh, kw], bias: [O], residual: [N, O, Ho, Wo] -> [N, O, Ho, Wo] */
export function conv2d(ctx: GpuContext, x: GpuTensor, w: GpuTensor, bias?: GpuTensor, opts: Conv2dOptions = {}): GpuTensor {
  const g = convGeometry(x.shape, w.shape, opts.stride ?? 1, opts.pad ?? 0, opts.upsample2x ? 1 : 0);
  const outShape = [g.N, g.O, g.Ho, g.Wo];
  check(!bias || bias.size === g.O, `conv2d: bias ${bias && shapeStr(bias.shape)} for ${g.O} output channels`);
  check(!opts.residual || opts.residual.size === g.N * g.O * g.Ho * g.Wo,
    `conv2d: residual ${opts.residual && shapeStr(opts.residual.shape)} for output ${shapeStr(outShape)}`);
  const y = ctx.alloc(outShape, x.dtype);
  const forced = opts.variant;
  check(!opts.channelBias || !isPointwise(g), 'conv2d: a channel bias on a 1x1 conv is not implemented (the GEMM route has no flag 8)');
  if (forced === 'gemm') {
    check(isPointwise(g), `conv2d: the 'gemm' route takes 1x1 stride-1 unpadded convs only`);
    gemm(ctx, pointwiseGemm(g, x, w, y, bias, opts.residual), opts.gemmVariant);  // measured unless given
    return y;
  }
  const choice = forced ?? selectVariant(ctx, conv2dTuneRequest(ctx, g, { T: x.dtype, W: w.dtype }), provisionalConv2d(ctx, g));
  recordPlan(ctx, conv2dChoicePlan(ctx, g, x, w, y, choice, bias, opts.residual, opts.channelBias));
  return y;
}
