// Activations split along the channel dimension, for VAE layers whose tensors exceed one
// storage binding (maxStorageBufferBindingSize, 128 MiB on many devices): decoding 512 x 512
// with SD 1.4 makes [1, 256, 512, 512] f32 = 256 MiB activations.
//
// Why channels and not spatial tiles: GroupNorm statistics are global over H x W, so spatial
// tiles change the result unless every norm gathers stats across tiles. Channel chunks that
// hold whole groups need no cross-chunk statistics at all: GroupNorm runs per chunk with its
// slice of gamma/beta, SiLU and nearest upsampling are per channel, and a convolution is a block
// matrix product (output chunk j = sum_i conv(x_i, W[j, i])), accumulated through the conv
// kernel's residual epilogue. The result equals the unsplit computation up to f32 summation
// order. Each chunk is its own buffer, [N, Cj, H, W], dense NCHW.
import type { GpuContext } from '../gpu/context.js';
import { check, DTYPE_BYTES, shapeStr, type GpuTensor } from '../gpu/tensor.js';

export class ChannelChunks {
  readonly N: number;
  readonly H: number;
  readonly W: number;
  readonly C: number;

  constructor(readonly parts: readonly GpuTensor[]) {
    check(parts.length > 0, 'ChannelChunks: no parts');
    const [N, , H, W] = parts[0]!.shape as [number, number, number, number];
    for (const p of parts) {
      check(p.shape.length === 4 && p.shape[0] === N && p.shape[2] === H && p.shape[3] === W && p.dtype === parts[0]!.dtype,
        `ChannelChunks: part ${shapeStr(p.shape)} does not match ${shapeStr(parts[0]!.shape)}`);
    }
    this.N = N; this.H = H; this.W = W;
    this.C = parts.reduce((s, p) => s + p.shape[1]!, 0);
  }

  static of(t: GpuTensor): ChannelChunks {
    check(t.shape.length === 4, `ChannelChunks: expected [N, C, H, W], got ${shapeStr(t.shape)}`);
    return new ChannelChunks([t]);
  }

  get shape(): [number, number, number, number] {
    return [this.N, this.C, this.H, this.W];
  }

  /** Channels per part. */
  get sizes(): number[] {
    return this.parts.map((p) => p.shape[1]!);
  }

  get single(): boolean {
    return this.parts.length === 1;
  }

  release(ctx: GpuContext): void {
    ctx.release(...this.parts);
  }
}

export function sameSizes(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * How to split a [N, C, H, W] activation so that every part fits `budgetBytes`: k equal parts
 * where k divides `groups` (so every part holds whole GroupNorm groups) and each part has an
 * even channel count (so f16 weight slices stay 4-byte aligned for buffer copies). Tensors whose
 * channels are not a multiple of `groups` (image, latent, moments) are never split.
 */
export function planChannelSplit(shape: readonly number[], elemBytes: number, groups: number, budgetBytes: number): number[] {
  const [N, C, H, W] = shape as [number, number, number, number];
  const perChannel = N * H * W * elemBytes;
  if (C * perChannel <= budgetBytes) return [C];
  if (C % groups === 0) {
    for (let k = 2; k <= groups; k++) {
      if (groups % k !== 0 || (C / k) % 2 !== 0) continue;
      if ((C / k) * perChannel <= budgetBytes) return new Array<number>(k).fill(C / k);
    }
  }
  throw new Error(`VAE: a ${shapeStr(shape)} activation does not fit the ${budgetBytes}-byte binding budget even when split into ` +
    `whole GroupNorm groups; decode a smaller image or one sample at a time`);
}

/** Offsets of `sizes` (prefix sums). */
export function offsetsOf(sizes: readonly number[]): number[] {
  const o: number[] = [];
  let s = 0;
  for (const c of sizes) { o.push(s); s += c; }
  return o;
}

function checkAligned(bytes: number, what: string): void {
  check(bytes % 4 === 0, `${what}: copy of ${bytes} bytes at a non-4-byte boundary (buffer copies need 4-byte alignment)`);
}

/**
 * Copies channels [c0, c0 + count) of every sample of `src` [N, Cs, H, W] into channels
 * [d0, d0 + count) of `dst` [N, Cd, H, W]: one buffer copy per sample (channel ranges of one
 * sample are contiguous in NCHW).
 */
export function copyChannels(ctx: GpuContext, src: GpuTensor, c0: number, dst: GpuTensor, d0: number, count: number): void {
  const [N, Cs, H, W] = src.shape as [number, number, number, number];
  const Cd = dst.shape[1]!;
  check(dst.shape[0] === N && dst.shape[2] === H && dst.shape[3] === W && src.dtype === dst.dtype && c0 + count <= Cs && d0 + count <= Cd,
    `copyChannels: ${shapeStr(src.shape)}[${c0}:+${count}] -> ${shapeStr(dst.shape)}[${d0}]`);
  const eb = DTYPE_BYTES[src.dtype];
  const plane = H * W * eb;
  for (let n = 0; n < N; n++) {
    const so = (n * Cs + c0) * plane, dO = (n * Cd + d0) * plane, bytes = count * plane;
    checkAligned(so, 'copyChannels'); checkAligned(dO, 'copyChannels'); checkAligned(bytes, 'copyChannels');
    ctx.copy(src, dst, so, dO, bytes);
  }
}

/** Channels [c0, c0 + count) of `t` as a new pooled tensor. */
export function sliceChannels(ctx: GpuContext, t: GpuTensor, c0: number, count: number): GpuTensor {
  const [N, , H, W] = t.shape as [number, number, number, number];
  const out = ctx.alloc([N, count, H, W], t.dtype);
  copyChannels(ctx, t, c0, out, 0, count);
  return out;
}

/** One tensor holding all channels (must fit one binding). Returns the part itself when single. */
export function mergeChunks(ctx: GpuContext, x: ChannelChunks): GpuTensor {
  if (x.single) return x.parts[0]!;
  const out = ctx.alloc(x.shape, x.parts[0]!.dtype);
  const off = offsetsOf(x.sizes);
  x.parts.forEach((p, i) => copyChannels(ctx, p, 0, out, off[i]!, p.shape[1]!));
  return out;
}

/**
 * The same activation split as `sizes`. Returns `x` itself when the split already matches;
 * otherwise new parts (the caller still owns and releases `x`).
 */
export function resplit(ctx: GpuContext, x: ChannelChunks, sizes: readonly number[]): ChannelChunks {
  if (sameSizes(x.sizes, sizes)) return x;
  check(sizes.reduce((a, b) => a + b, 0) === x.C, `resplit: sizes [${sizes}] do not add up to ${x.C}`);
  const srcOff = offsetsOf(x.sizes);
  const parts: GpuTensor[] = [];
  let c = 0;
  for (const size of sizes) {
    const out = ctx.alloc([x.N, size, x.H, x.W], x.parts[0]!.dtype);
    // Fill from every source part overlapping [c, c + size).
    for (let i = 0, filled = 0; i < x.parts.length && filled < size; i++) {
      const s0 = srcOff[i]!, s1 = s0 + x.sizes[i]!;
      const lo = Math.max(c + filled, s0), hi = Math.min(c + size, s1);
      if (hi <= lo) continue;
      copyChannels(ctx, x.parts[i]!, lo - s0, out, lo - c, hi - lo);
      filled += hi - lo;
    }
    parts.push(out);
    c += size;
  }
  return new ChannelChunks(parts);
}

/** Reads all channels back as one NCHW Float32Array (tests, taps). */
export async function readChunks(ctx: GpuContext, x: ChannelChunks): Promise<Float32Array> {
  const parts = await Promise.all(x.parts.map((p) => ctx.read(p)));
  if (parts.length === 1) return parts[0]!;
  const plane = x.H * x.W;
  const out = new Float32Array(x.N * x.C * plane);
  const off = offsetsOf(x.sizes);
  for (let n = 0; n < x.N; n++) {
    parts.forEach((p, i) => {
      const cj = x.sizes[i]!;
      out.set(p.subarray(n * cj * plane, (n + 1) * cj * plane), (n * x.C + off[i]!) * plane);
    });
  }
  return out;
}

/** Chooses the channel split of each activation the VAE produces (f32 activations). */
export interface SplitPlan {
  (shape: readonly number[]): number[];
  /** the binding budget in bytes the split honours (also bounds attention score blocks) */
  readonly budget: number;
}

export function splitPlan(groups: number, budgetBytes: number): SplitPlan {
  return Object.assign((shape: readonly number[]) => planChannelSplit(shape, 4, groups, budgetBytes), { budget: budgetBytes });
}

/** The plan of a model that never splits (the UNet: its largest activation fits one binding). */
export const NO_SPLIT: SplitPlan = Object.assign((shape: readonly number[]) => [shape[1]!], { budget: Infinity });
