// Capture of module outputs (intermediate tensors) for the per-block golden tests, one
// convention for every model (UNet, VAE, CLIP text and vision). A Tap receives names relative to
// the current module scope (ctx.modulePath, the same path that labels GPU timings), so a block
// says tap('norm1', t) inside ctx.within('down_blocks.0.resnets.0') and the listener sees
// `down_blocks.0.resnets.0.norm1`; a failing golden test can then name the first block that diverges.
// The value is only valid during the call: a listener that wants it must start its readback
// synchronously (ctx.read records the copy before it returns a promise).
// When a tap is present, fusions that would hide a golden intermediate are split: GroupNorm+SiLU
// (the golden `norm1` is pre-SiLU) and residual epilogues (golden `attn1`, `conv2`, `self_attn`
// are pre-residual; see normSilu in chunked_ops.ts). Without a tap the fused path runs.
import type { GpuContext } from '../gpu/context.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { add } from '../kernels/elementwise.js';

/** A whole tensor, or an activation held as channel chunks (src/nn/channel_chunks.ts). */
export type TapValue = GpuTensor | { readonly parts: readonly GpuTensor[] };

/** `name` is relative to the current ctx.modulePath; the value is only valid during the call. */
export type Tap = (name: string, value: TapValue) => void;

/** Runs `fn` inside scope `name` and taps its result as `name` (in the caller's scope). */
export function tapped<T extends TapValue>(ctx: GpuContext, tap: Tap | undefined, name: string | number, fn: () => T): T {
  const y = ctx.within(name, fn);
  tap?.(String(name), y);
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
