// The stages of one diffusion step of the inexact-Newton sampler, as functions over GPU tensors.
// The loop (constrained_sampler.ts) is written with these, and the golden tests feed each stage
// the recorded inputs ("teacher forcing"). Infinity norms are per sample and stay on the GPU.
import type { GpuContext } from '../gpu/context.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { axpbyScaled } from '../kernels/axpby_scaled.js';
import { axpby, sub } from '../kernels/elementwise.js';
import { maxAbsPerSample } from '../kernels/reduce.js';
import type { StepScalars } from './schedule.js';

/** x0(x_t) = x_t / sqrt(ab) - eps * sqrt((1 - ab) / ab): the denoised estimate (DDIM eq. 12). */
export function x0Estimate(ctx: GpuContext, x: GpuTensor, eps: GpuTensor, s: StepScalars): GpuTensor {
  return axpby(ctx, 1 / s.sqrtAb, x, -s.cEps, eps);
}

/** xp = x + delta d with delta = h / max|d| (per sample). Returns xp and max|d| ([N], f32). */
export function perturb(ctx: GpuContext, x: GpuTensor, d: GpuTensor, h: number): { xp: GpuTensor; dNorm: GpuTensor } {
  const dNorm = maxAbsPerSample(ctx, d);
  return { xp: axpbyScaled(ctx, 1, x, h, d, dNorm), dNorm };
}

/**
 * The Newton move: g = J d / max|J d| with J d ~ (x0p - x0) / delta; the delta cancels in the
 * normalisation, so g = (x0p - x0) / max|x0p - x0|, and x <- x + lr g.
 * Returns the new x and the unnormalised difference and its norm (for tracing).
 */
export function newtonUpdate(ctx: GpuContext, x: GpuTensor, x0p: GpuTensor, x0: GpuTensor, lr: number):
    { x: GpuTensor; diff: GpuTensor; gNorm: GpuTensor } {
  const diff = sub(ctx, x0p, x0);
  const gNorm = maxAbsPerSample(ctx, diff);
  return { x: axpbyScaled(ctx, 1, x, lr, diff, gNorm), diff, gNorm };
}

/** The no-Jacobian baseline's move: x <- x + lr d / max|d| (dNorm: max|d| per sample, if already made; the caller's then). */
export function directionUpdate(ctx: GpuContext, x: GpuTensor, d: GpuTensor, lr: number, dNorm?: GpuTensor): GpuTensor {
  const norm = dNorm ?? maxAbsPerSample(ctx, d);
  const y = axpbyScaled(ctx, 1, x, lr, d, norm);
  if (!dNorm) ctx.release(norm);
  return y;
}

/** x_{t-stride} = sqrt(ab_prev) x0 + sqrt(1 - ab_prev - bt) eps + sqrt(bt) z (sums left to right). */
export function ddimUpdate(ctx: GpuContext, x0: GpuTensor, eps: GpuTensor, z: GpuTensor, s: StepScalars): GpuTensor {
  const det = axpby(ctx, s.sqrtAbPrev, x0, s.cDir, eps);
  const y = axpby(ctx, 1, det, s.sqrtBt, z);
  ctx.release(det);
  return y;
}
