// When the inner loop stops (ours; the paper fixes K and names a dynamic K as open). The inner
// methods ask before each inner step k whether to take it, handing over the per-sample infinity
// norm of the error direction they are about to use (max|d|, already on the GPU for the
// finite-difference delta). 'fixed' always says yes and reads nothing back. 'auto' reads the
// norms back (4 bytes a sample: one queue sync per inner step, the price of deciding on the CPU)
// and a sample stops (for the rest of this diffusion step) once its residual fails to improve
// on its best so far by at least tol x lr[k-1] (relative) — it stopped improving for the size of
// the step just taken — or its residual is zero; the loop ends when every sample has stopped. K
// stays the cap. The tolerance is per unit of the step's
// learning rate because an inner move is lr · g / max|g|, a fixed size: with lr given per stride
// (lrStride) a 20-step run takes steps half as long as a 10-step one, and a fixed relative
// tolerance stopped it after ~2 inner steps (bench/RESULTS.md "Sweep").
// Per sample (active()): a sample stops on its own when ITS residual stops improving and stays
// stopped for the rest of the diffusion step; the inner methods that can (exact, no-Jacobian)
// then evaluate only the samples still going (active_rows.ts), so a batch saves evaluations
// too. The batch-wide proceed() (fused, dps) goes on while any sample is still going: at the
// quality bench's batch of 50 that almost never stops (6-15% saved on the N = 100 record).
import type { GpuContext } from '../../gpu/context.js';
import type { GpuTensor } from '../../gpu/tensor.js';
import type { InnerStopKind } from '../types.js';

/** default relative improvement per unit learning rate below which 'auto' stops (chosen on the validation split, bench/sweep.ts) */
export const AUTO_K_TOL = 0.5;

export interface InnerStop {
  /** k: the inner step about to run (0-based); dNorm: [N] f32 max|d| per sample. true: take it (for the whole batch). */
  proceed(k: number, dNorm: GpuTensor): Promise<boolean>;
  /** the same question per sample: null = every sample takes it, else the indices that do ([] = none) */
  active(k: number, dNorm: GpuTensor): Promise<number[] | null>;
}

const always: InnerStop = { proceed: async () => true, active: async () => null };

/** A fresh policy for one diffusion step; lr: the step's learning rate per inner step. */
export function innerStop(ctx: GpuContext, kind: InnerStopKind = 'fixed', tol = AUTO_K_TOL, lr: readonly number[] = []): InnerStop {
  if (kind === 'fixed') return always;
  let best: Float32Array | null = null;
  let going: boolean[] = [];
  const active = async (k: number, dNorm: GpuTensor): Promise<number[] | null> => {
    const r = await ctx.read(dNorm);                                         // the sync
    if (!best) { best = Float32Array.from(r); going = Array.from(r, (v) => v > 0); }
    else {
      const need = tol * (lr[k - 1] ?? lr[lr.length - 1] ?? 0.1);
      for (let n = 0; n < r.length; n++) {
        if (going[n] && !(r[n]! < (1 - need) * best[n]!)) going[n] = false;
        best[n] = Math.min(best[n]!, r[n]!);
      }
    }
    const idx = going.flatMap((g, n) => (g ? [n] : []));
    return idx.length === r.length ? null : idx;
  };
  return {
    active,
    // the batch goes on while any sample does
    async proceed(k, dNorm) { const rows = await active(k, dNorm); return rows === null || rows.length > 0; },
  };
}
