// The pull-back of a pixel-space direction r to latent space, forward-only (method.md, decision 1,
// ours): the encoder approximately inverts the decoder, so the inexact-Newton idea applied to the
// VAE gives
//   delta_p = h / max|r|,   d = (E(img + delta_p r) - E(img)) / delta_p      (encoder means, scaled)
// with img = D(x0). Both encoder inputs are known together: one batch of two. No backward kernels.
// Used by every pixel-space constraint (pixel_linear.ts, style.ts). max|r| = 0 gives d = 0
// (axpby_scaled's s = 0 guard).
import type { GpuContext } from '../../gpu/context.js';
import type { GpuTensor } from '../../gpu/tensor.js';
import { axpbyScaled } from '../../kernels/axpby_scaled.js';
import { sub } from '../../kernels/elementwise.js';
import { maxAbsPerSample } from '../../kernels/reduce.js';
import { concat0, slice0 } from '../../kernels/tensor_ops.js';
import type { TraceFn } from './constraint.js';
import type { LatentCodec } from './latent_codec.js';

export interface PullBackOptions {
  /** -1 when the pixel direction is r = -dir (dir a gradient to descend): saves negating it */
  sign?: 1 | -1;
  /** sees delta_p_inv (max|r|), enc_base and enc_pert */
  trace?: TraceFn;
}

/** img: [N, 3, H, W] = D(x0), dir: [N, 3, H, W] -> d: [N, C, H/f, W/f] (a new tensor). */
export function pullBack(ctx: GpuContext, codec: LatentCodec, img: GpuTensor, dir: GpuTensor, h: number,
                         { sign = 1, trace }: PullBackOptions = {}): Promise<GpuTensor> {
  return ctx.scope(async () => {
    const N = img.shape[0];
    const rNorm = maxAbsPerSample(ctx, dir);                        // delta_p = h / max|r|
    const imgP = axpbyScaled(ctx, 1, img, sign * h, dir, rNorm);    // img + delta_p r
    const enc = await codec.encode(ctx, concat0(ctx, [img, imgP])); // one batch of two
    const eBase = slice0(ctx, enc, 0, N), ePert = slice0(ctx, enc, N, N);
    const diff = sub(ctx, ePert, eBase);
    const d = axpbyScaled(ctx, 0, diff, 1 / h, diff, rNorm, undefined, true); // / delta_p
    if (trace) { await trace('delta_p_inv', rNorm); await trace('enc_base', eBase); await trace('enc_pert', ePert); }
    return d;
  });
}
