// Taps for the VAE and the text encoder, the same convention as the UNet's (src/unet/tap.ts):
// a tap receives names relative to the current module scope (ctx.modulePath, the path that also labels
// GPU timings), so a block says tap('conv_in', x) inside ctx.within('decoder') and the listener
// sees `decoder.conv_in`. Golden tests use it to compare every intermediate and name the first
// block that diverges. The value is only valid during the call: a listener that wants it must
// start its readback synchronously (ctx.read records the copy before it returns a promise).
// When a tap is present, models split fusions that would hide a recorded intermediate.
import type { GpuContext } from '../gpu/context.js';
import type { GpuTensor } from '../gpu/tensor.js';

/** A whole tensor, or an activation held as channel chunks (src/vae/channel_chunks.ts). */
export type TapValue = GpuTensor | { readonly parts: readonly GpuTensor[] };

/** Assignable to the UNet's Tap, so one listener serves every model. */
export type Tap = (name: string, value: TapValue) => void;

/** Runs `fn` inside scope `name` and taps its result as `name`. */
export function tapped<T extends TapValue>(ctx: GpuContext, tap: Tap | undefined, name: string | number, fn: () => T): T {
  const y = ctx.within(name, fn);
  tap?.(String(name), y);
  return y;
}

/** The full module path of `name` given the context's current scope. */
export function scopedName(ctx: GpuContext, name: string): string {
  return [...ctx.modulePath, name].join('.');
}
