// When the inner loop stops (ours; the paper fixes K and names a dynamic K as open). The inner
// methods ask before each inner step k whether to take it, handing over the per-sample infinity
// norm of the error direction they are about to use (max|d|, already on the GPU for the
// finite-difference delta). 'fixed' always says yes and reads nothing back. 'auto' reads the
// norms back (4 bytes a sample: one queue sync per inner step, the price of deciding on the CPU)
// and stops when no sample's residual improved by at least `tol` (relative) on its best so far in
// this diffusion step — the residual stopped improving — or all residuals are zero. K stays the cap.
import type { GpuContext } from '../../gpu/context.js';
import type { GpuTensor } from '../../gpu/tensor.js';
import type { InnerStopKind } from '../types.js';

/** default relative improvement below which 'auto' stops (chosen on the validation split, bench/sweep.ts) */
export const AUTO_K_TOL = 0.05;

export interface InnerStop {
  /** k: the inner step about to run (0-based); dNorm: [N] f32 max|d| per sample. true: take it. */
  proceed(k: number, dNorm: GpuTensor): Promise<boolean>;
}

const always: InnerStop = { proceed: async () => true };

/** A fresh policy for one diffusion step. */
export function innerStop(ctx: GpuContext, kind: InnerStopKind = 'fixed', tol = AUTO_K_TOL): InnerStop {
  if (kind === 'fixed') return always;
  let best: Float32Array | null = null;
  return {
    async proceed(k, dNorm) {
      const r = await ctx.read(dNorm);                                       // the sync
      if (!best) { best = Float32Array.from(r); return r.some((v) => v > 0); }
      let improved = false;
      for (let n = 0; n < r.length; n++) {
        if (r[n]! < (1 - tol) * best[n]!) improved = true;
        best[n] = Math.min(best[n]!, r[n]!);
      }
      void k;
      return improved;
    },
  };
}
