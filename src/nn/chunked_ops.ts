// nn modules applied to ChannelChunks. With one part these are exactly the modules' own forward;
// with several, each op works on weight slices (gamma/beta ranges, conv weight blocks) cut from
// the module's resident weights by buffer copies on first use and cached per split.
// Also the tap-aware GroupNorm+SiLU used by every model (tensors pass as one chunk).
import type { GpuContext } from '../gpu/context.js';
import { BufferUsage } from '../gpu/flags.js';
import { check, DTYPE_BYTES, GpuTensor, shapeStr, type DType } from '../gpu/tensor.js';
import { conv2d } from '../kernels/conv2d.js';
import { add, unary } from '../kernels/elementwise.js';
import { groupNorm } from '../kernels/group_norm.js';
import { upsampleNearest } from '../kernels/upsample_nearest.js';
import type { Conv2d } from '../nn/conv2d.js';
import type { GroupNorm } from '../nn/group_norm.js';
import { ChannelChunks, offsetsOf, sameSizes } from './channel_chunks.js';
import type { Tap } from './tap.js';

/** A resident (non-pooled) tensor filled by buffer copies: weight slices and concatenations. */
export function residentTensor(ctx: GpuContext, shape: readonly number[], dtype: DType, label = 'vae weight slice'): GpuTensor {
  const bytes = shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
  const buffer = ctx.device.createBuffer({
    size: Math.ceil(bytes / 4) * 4,
    usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST,
    label,
  });
  ctx.residentBytes += buffer.size;
  return new GpuTensor(buffer, shape, dtype, false);
}

function copyAligned(ctx: GpuContext, src: GpuTensor, dst: GpuTensor, so: number, dO: number, bytes: number): void {
  check(so % 4 === 0 && dO % 4 === 0 && bytes % 4 === 0,
    `vae weight slice: copy [${so}, +${bytes}) -> ${dO} is not 4-byte aligned (${src.dtype} ${shapeStr(src.shape)})`);
  ctx.copy(src, dst, so, dO, bytes);
}

/** Rows [r0, r0 + count) of `t` viewed as [rows, rowElems]: one contiguous copy. */
function sliceRows(ctx: GpuContext, t: GpuTensor, r0: number, count: number, shape: readonly number[]): GpuTensor {
  const rowBytes = (t.size / t.shape[0]!) * DTYPE_BYTES[t.dtype];
  const out = residentTensor(ctx, shape, t.dtype);
  copyAligned(ctx, t, out, r0 * rowBytes, 0, count * rowBytes);
  return out;
}

/** w [O, C, kh, kw] -> w[o0:o0+oc, i0:i0+ic]: one copy, or one per output channel when C is cut. */
function sliceConvWeight(ctx: GpuContext, w: GpuTensor, o0: number, oc: number, i0: number, ic: number): GpuTensor {
  const [O, C, kh, kw] = w.shape as [number, number, number, number];
  check(o0 + oc <= O && i0 + ic <= C, `sliceConvWeight: [${o0}:+${oc}, ${i0}:+${ic}] outside ${shapeStr(w.shape)}`);
  if (ic === C) return sliceRows(ctx, w, o0, oc, [oc, C, kh, kw]);
  const eb = DTYPE_BYTES[w.dtype], k2 = kh * kw;
  const out = residentTensor(ctx, [oc, ic, kh, kw], w.dtype);
  for (let o = 0; o < oc; o++) copyAligned(ctx, w, out, ((o0 + o) * C + i0) * k2 * eb, o * ic * k2 * eb, ic * k2 * eb);
  return out;
}

export interface NormSlices { gamma: GpuTensor[]; beta: GpuTensor[] }
export interface ConvBlocks { w: GpuTensor[][]; bias: (GpuTensor | undefined)[] }

const normCache = new WeakMap<GroupNorm, Map<string, NormSlices>>();
const convCache = new WeakMap<Conv2d, Map<string, ConvBlocks>>();

/** gamma/beta of `gn` cut as `sizes` (cached per split; also the VAE decoder VJP's, src/vae/vjp). */
export function normSlices(ctx: GpuContext, gn: GroupNorm, sizes: readonly number[]): NormSlices {
  let m = normCache.get(gn);
  if (!m) normCache.set(gn, (m = new Map()));
  const key = sizes.join(',');
  let s = m.get(key);
  if (!s) {
    const off = offsetsOf(sizes);
    s = {
      gamma: sizes.map((c, i) => sliceRows(ctx, gn.weight, off[i]!, c, [c])),
      beta: sizes.map((c, i) => sliceRows(ctx, gn.bias, off[i]!, c, [c])),
    };
    m.set(key, s);
  }
  return s;
}

/** w[j][i]: the weight block from input part i to output part j, and per-output bias (cached per split). */
export function convBlocks(ctx: GpuContext, conv: Conv2d, inSizes: readonly number[], outSizes: readonly number[]): ConvBlocks {
  let m = convCache.get(conv);
  if (!m) convCache.set(conv, (m = new Map()));
  const key = `${inSizes.join(',')}|${outSizes.join(',')}`;
  let b = m.get(key);
  if (!b) {
    const io = offsetsOf(inSizes), oo = offsetsOf(outSizes);
    b = {
      w: outSizes.map((oc, j) => inSizes.map((ic, i) => sliceConvWeight(ctx, conv.weight, oo[j]!, oc, io[i]!, ic))),
      // one output part: the whole bias (an f16 slice of 3 values would not be 4-byte aligned)
      bias: outSizes.map((oc, j) => (conv.bias && outSizes.length > 1 ? sliceRows(ctx, conv.bias, oo[j]!, oc, [oc]) : conv.bias)),
    };
    m.set(key, b);
  }
  return b;
}

/** Frees the cached weight slices of these modules (call from the model's destroy). */
export function destroySlices(ctx: GpuContext, modules: readonly (Conv2d | GroupNorm)[]): void {
  for (const mod of modules) {
    for (const s of normCache.get(mod as GroupNorm)?.values() ?? []) for (const t of [...s.gamma, ...s.beta]) ctx.destroy(t);
    const conv = mod as Conv2d;
    for (const b of convCache.get(conv)?.values() ?? []) {
      for (const t of [...b.w.flat(), ...b.bias]) if (t && t !== conv.weight && t !== conv.bias) ctx.destroy(t);
    }
    normCache.delete(mod as GroupNorm);
    convCache.delete(mod as Conv2d);
  }
}

/** x: chunks of [N, C, H, W] -> GroupNorm(x) (SiLU fused when `silu`), same split. */
export function groupNormChunks(ctx: GpuContext, gn: GroupNorm, x: ChannelChunks, silu = false): ChannelChunks {
  if (x.single) return ChannelChunks.of(gn.forward(ctx, x.parts[0]!, silu));
  const perGroup = gn.channels / gn.groups;
  check(x.C === gn.channels && x.sizes.every((c) => c % perGroup === 0),
    `GroupNorm(${gn.channels}, groups ${gn.groups}): chunks [${x.sizes}] do not hold whole groups`);
  const s = normSlices(ctx, gn, x.sizes);
  return new ChannelChunks(x.parts.map((p, i) => groupNorm(ctx, p, s.gamma[i]!, s.beta[i]!,
    { groups: p.shape[1]! / perGroup, eps: gn.eps, silu })));
}

/**
 * silu(norm(x)) on chunks, fused; when tapped, the norm runs unfused so its (pre-SiLU) output can
 * be tapped as `name` (the goldens' `norm1`, `conv_norm_out`), then SiLU runs in place.
 */
export function normSiluChunks(ctx: GpuContext, norm: GroupNorm, x: ChannelChunks, tap: Tap | undefined, name: string): ChannelChunks {
  if (!tap) return ctx.within(name, () => groupNormChunks(ctx, norm, x, true));
  const n = ctx.within(name, () => groupNormChunks(ctx, norm, x, false));
  tap(name, n);
  return new ChannelChunks(n.parts.map((p) => unary(ctx, 'silu', p, p)));
}

/** normSiluChunks for one whole tensor. */
export function normSilu(ctx: GpuContext, norm: GroupNorm, x: GpuTensor, tap: Tap | undefined, name: string): GpuTensor {
  return normSiluChunks(ctx, norm, ChannelChunks.of(x), tap, name).parts[0]!;
}

/** a + b per chunk (same split) into new chunks. */
export function addChunks(ctx: GpuContext, a: ChannelChunks, b: ChannelChunks): ChannelChunks {
  check(sameSizes(a.sizes, b.sizes), `addChunks: splits [${a.sizes}] and [${b.sizes}] differ`);
  return new ChannelChunks(a.parts.map((p, i) => add(ctx, p, b.parts[i]!)));
}

/**
 * x: chunks of [N, C, H, W] -> conv(x) split as `outSizes`; `residual` (same split as the
 * output) is added in the epilogue. Output chunk j = sum_i conv(x_i, W[j, i]) + bias_j
 * (+ residual_j): the partial sums chain through the kernel's residual input.
 */
export function conv2dChunks(ctx: GpuContext, conv: Conv2d, x: ChannelChunks, outSizes: readonly number[],
                             residual?: ChannelChunks): ChannelChunks {
  check(x.C === conv.inChannels && outSizes.reduce((a, b) => a + b, 0) === conv.outChannels,
    `Conv2d(${conv.inChannels} -> ${conv.outChannels}): input ${shapeStr(x.shape)}, output split [${outSizes}]`);
  if (residual) check(sameSizes(residual.sizes, outSizes), `Conv2d: residual split [${residual.sizes}] != output split [${outSizes}]`);
  if (x.single && outSizes.length === 1) return ChannelChunks.of(conv.forward(ctx, x.parts[0]!, residual?.parts[0]));
  const blocks = convBlocks(ctx, conv, x.sizes, outSizes);
  const opts = { stride: conv.stride, pad: conv.pad };
  return new ChannelChunks(outSizes.map((_, j) => {
    let acc = residual?.parts[j];
    x.parts.forEach((p, i) => {
      const next = conv2d(ctx, p, blocks.w[j]![i]!, i === 0 ? blocks.bias[j] : undefined, { ...opts, residual: acc });
      if (acc && acc !== residual?.parts[j]) ctx.release(acc);
      acc = next;
    });
    return acc!;
  }));
}

/** Nearest-neighbour x2 upsampling of every chunk. */
export function upsampleChunks(ctx: GpuContext, x: ChannelChunks, outH: number, outW: number): ChannelChunks {
  return new ChannelChunks(x.parts.map((p) => upsampleNearest(ctx, p, outH, outW)));
}
