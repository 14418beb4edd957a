// Capture of module outputs for the per-block golden test. A Tap receives names relative to the
// current module scope (ctx.modulePath, the same path that labels timings), so a block says
// tap('norm1', t) and the UNet turns that into `down_blocks.0.resnets.0.norm1`.
// When a tap is present, fusions that would hide a golden intermediate are split: GroupNorm+SiLU
// (the golden `norm1` is pre-SiLU) and residual epilogues (golden `attn1`, `conv2`, `proj_out`
// are pre-residual). Without a tap the fused path runs.
import type { GpuContext } from '../gpu/context.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { add, unary } from '../kernels/elementwise.js';
import type { GroupNorm } from '../nn/group_norm.js';

/** `name` is relative to the current ctx.modulePath; the tensor is only valid during the call. */
export type Tap = (name: string, t: GpuTensor) => void;

/** silu(norm(x)), tapping the norm output (pre-SiLU) as `name` when tapped. */
export function normSilu(ctx: GpuContext, norm: GroupNorm, x: GpuTensor, tap: Tap | undefined, name: string): GpuTensor {
  if (!tap) return ctx.within(name, () => norm.forward(ctx, x, true));
  const n = ctx.within(name, () => norm.forward(ctx, x, false));
  tap(name, n);
  const y = unary(ctx, 'silu', n);
  ctx.release(n);
  return y;
}

/**
 * fn(residual) + residual, with the add fused into fn's epilogue normally; when tapped, fn runs
 * without the residual, its raw output is tapped as `name`, then the residual is added.
 */
export function withResidual(ctx: GpuContext, tap: Tap | undefined, name: string, residual: GpuTensor,
                             fn: (residual?: GpuTensor) => GpuTensor): GpuTensor {
  if (!tap) return ctx.within(name, () => fn(residual));
  const y = ctx.within(name, () => fn(undefined));
  tap(name, y);
  const out = add(ctx, y, residual);
  ctx.release(y);
  return out;
}

/** Runs `fn` inside scope `name` and taps its result as `name` (in the caller's scope). */
export function sub(ctx: GpuContext, tap: Tap | undefined, name: string, fn: () => GpuTensor): GpuTensor {
  const y = ctx.within(name, fn);
  tap?.(name, y);
  return y;
}
