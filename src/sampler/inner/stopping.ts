// When the inner loop stops (ours; the paper fixes K and names a dynamic K as open). The inner
// methods ask before each inner step k whether to take it, handing over the per-sample infinity
// norm of the error direction they are about to use (max|d|, already on the GPU for the
// finite-difference delta). 'fixed' always says yes and reads nothing back. 'auto' reads the
// norms back (4 bytes a sample: one queue sync per inner step, the price of deciding on the CPU)
// and stops when no sample's residual improved on its best so far in this diffusion step by at
// least tol x lr[k-1] (relative) — the residual stopped improving for the size of the step just
// taken — or all residuals are zero. K stays the cap. The tolerance is per unit of the step's
// learning rate because an inner move is lr · g / max|g|, a fixed size: with lr given per stride
// (lrStride) a 20-step run takes steps half as long as a 10-step one, and a fixed relative
// tolerance stopped it after ~2 inner steps (bench/RESULTS.md "Sweep").
import type { GpuContext } from '../../gpu/context.js';
import type { GpuTensor } from '../../gpu/tensor.js';
import type { InnerStopKind } from '../types.js';

/** default relative improvement per unit learning rate below which 'auto' stops (chosen on the validation split, bench/sweep.ts) */
export const AUTO_K_TOL = 0.5;

export interface InnerStop {
  /** k: the inner step about to run (0-based); dNorm: [N] f32 max|d| per sample. true: take it. */
  proceed(k: number, dNorm: GpuTensor): Promise<boolean>;
}

const always: InnerStop = { proceed: async () => true };

/** A fresh policy for one diffusion step; lr: the step's learning rate per inner step. */
export function innerStop(ctx: GpuContext, kind: InnerStopKind = 'fixed', tol = AUTO_K_TOL, lr: readonly number[] = []): InnerStop {
  if (kind === 'fixed') return always;
  let best: Float32Array | null = null;
  return {
    async proceed(k, dNorm) {
      const r = await ctx.read(dNorm);                                       // the sync
      if (!best) { best = Float32Array.from(r); return r.some((v) => v > 0); }
      const need = tol * (lr[k - 1] ?? lr[lr.length - 1] ?? 0.1);
      let improved = false;
      for (let n = 0; n < r.length; n++) {
        if (r[n]! < (1 - need) * best[n]!) improved = true;
        best[n] = Math.min(best[n]!, r[n]!);
      }
      return improved;
    },
  };
}
