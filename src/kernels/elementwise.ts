// Elementwise ops: add, mul, axpby, scale, sub (with broadcasting of b) and the activations
// silu, gelu (exact erf form), quick_gelu, and clamp.
import type { GpuContext } from '../gpu/context.js';
import { defineKernel } from '../gpu/kernel.js';
import { check, GpuTensor, shapeStr } from '../gpu/tensor.js';
import { grid1d } from './grid.js';
import { wgsl } from './wgsl.gen.js';

export const elementwiseKernel = defineKernel({ name: 'elementwise', source: wgsl.elementwise, overrides: { OP: 0, WG: 256 } });

export const ELEMENTWISE_OPS = { add: 0, mul: 1, axpby: 2, scale: 3, silu: 4, gelu: 5, quick_gelu: 6, sub: 7, clamp: 8 } as const;
export type ElementwiseOp = keyof typeof ELEMENTWISE_OPS;
export type UnaryOp = 'silu' | 'gelu' | 'quick_gelu';

/** How b is indexed for output element i: b[(i / div) % mod]. */
export interface Broadcast { div: number; mod: number }

/**
 * The broadcast that maps b of shape `bShape` onto a of shape `aShape` when b's shape is a
 * prefix-aligned sub-shape: b = a (same), b = [N, C] over [N, C, H, W], b = [C] over [N, C, H, W]
 * given as [1, C, 1, 1], b = [1] (scalar), b = [C] over [..., C] (last dim).
 */
export function broadcastOf(aShape: readonly number[], bShape: readonly number[]): Broadcast {
  const n = aShape.reduce((x, y) => x * y, 1);
  const bn = bShape.reduce((x, y) => x * y, 1);
  if (bn === n) return { div: 1, mod: n };
  if (bn === 1) return { div: n, mod: 1 };
  // numpy alignment (b's dims against a's trailing dims) first, then prefix alignment
  // ([N, C] over [N, C, H, W]); b's non-1 dims must be contiguous in a so one div/mod pair works.
  const pad = Math.max(0, aShape.length - bShape.length);
  for (const b of [[...Array(pad).fill(1), ...bShape], [...bShape, ...Array(pad).fill(1)]]) {
    const bc = alignedBroadcast(aShape, b);
    if (bc) return bc;
  }
  throw new Error(`broadcast: ${shapeStr(bShape)} does not fit ${shapeStr(aShape)}`);
}

function alignedBroadcast(aShape: readonly number[], b: readonly number[]): Broadcast | null {
  if (b.length !== aShape.length) return null;
  let first = -1, last = -1;
  for (let d = 0; d < aShape.length; d++) {
    if (b[d] === aShape[d] && b[d] !== 1) { if (first < 0) first = d; last = d; }
    else if (b[d] !== 1) return null;
  }
  for (let d = first; d <= last; d++) if (b[d] !== aShape[d]) return null;
  const inner = aShape.slice(last + 1).reduce((x, y) => x * y, 1);
  const mod = b.reduce((x, y) => x * y, 1);
  return { div: inner, mod };
}

function run(ctx: GpuContext, op: ElementwiseOp, a: GpuTensor, b: GpuTensor, bc: Broadcast,
             alpha: number, beta: number, out?: GpuTensor): GpuTensor {
  check(a.dtype === b.dtype, `elementwise ${op}: dtypes differ (${a.dtype} vs ${b.dtype})`);
  if (out) check(out.size === a.size && out.dtype === a.dtype, `elementwise ${op}: output ${shapeStr(out.shape)} != input ${shapeStr(a.shape)}`);
  // WebGPU rejects a dispatch that binds one buffer both read-only and read-write, so an in-place
  // call (out is a or b) writes a temporary and copies it back.
  const inPlace = out !== undefined && (out.buffer === a.buffer || out.buffer === b.buffer);
  const y = out && !inPlace ? out : ctx.alloc(a.shape, a.dtype);
  const g = grid1d(a.size, 256);
  ctx.dispatch(elementwiseKernel, { a, b, y },
    { n: a.size, b_div: bc.div, b_mod: bc.mod, alpha, beta, row_stride: g.rowStride },
    g.workgroups, { types: { T: a.dtype, W: a.dtype }, overrides: { OP: ELEMENTWISE_OPS[op] } });
  if (!inPlace) return y;
  ctx.copy(y, out, 0, 0, out.byteLength);
  ctx.release(y);
  return out;
}

/** a + b (b broadcast), into `out` when given (may be a or b itself: see run()). */
export function add(ctx: GpuContext, a: GpuTensor, b: GpuTensor, out?: GpuTensor): GpuTensor {
  return run(ctx, 'add', a, b, broadcastOf(a.shape, b.shape), 1, 1, out);
}
export function sub(ctx: GpuContext, a: GpuTensor, b: GpuTensor, out?: GpuTensor): GpuTensor {
  return run(ctx, 'sub', a, b, broadcastOf(a.shape, b.shape), 1, 1, out);
}
export function mul(ctx: GpuContext, a: GpuTensor, b: GpuTensor, out?: GpuTensor): GpuTensor {
  return run(ctx, 'mul', a, b, broadcastOf(a.shape, b.shape), 1, 1, out);
}
/** alpha * a + beta * b */
export function axpby(ctx: GpuContext, alpha: number, a: GpuTensor, beta: number, b: GpuTensor, out?: GpuTensor): GpuTensor {
  return run(ctx, 'axpby', a, b, broadcastOf(a.shape, b.shape), alpha, beta, out);
}
/** alpha * a + beta */
export function scale(ctx: GpuContext, a: GpuTensor, alpha: number, beta = 0, out?: GpuTensor): GpuTensor {
  return run(ctx, 'scale', a, a, { div: 1, mod: a.size }, alpha, beta, out);
}
/** min(max(a, lo), hi) (the VAE's logvar clamp, image post-processing) */
export function clamp(ctx: GpuContext, a: GpuTensor, lo: number, hi: number, out?: GpuTensor): GpuTensor {
  return run(ctx, 'clamp', a, a, { div: 1, mod: a.size }, lo, hi, out);
}
export function unary(ctx: GpuContext, op: UnaryOp, a: GpuTensor, out?: GpuTensor): GpuTensor {
  return run(ctx, op, a, a, { div: 1, mod: a.size }, 1, 0, out);
}
