// The standard DDIM scheduler (Song et al. 2021, eq. 12 with eta = 0) as diffusers' DDIMScheduler
// runs SD 1.4: "leading" timestep spacing with steps_offset 1 (50 steps -> 981, 961, ..., 1),
// set_alpha_to_one = false (the final step uses alphas_cumprod[0]), no clipping, epsilon
// prediction. diffusers builds its tables with a float32 linspace, so they differ from the
// method's float64-built tables (schedule.ts) in the last bits; these reproduce diffusers'.
import type { GpuContext } from '../gpu/context.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { axpby } from '../kernels/elementwise.js';
import { BETA_END, BETA_START, TRAIN_STEPS } from './schedule.js';

export interface DdimTables { betas: Float32Array; alphasCumprod: Float32Array; finalAlphaCumprod: number }

let cached: DdimTables | null = null;

/** diffusers: betas = torch.linspace(sqrt(b0), sqrt(b1), 1000, dtype=float32) ** 2; cumprod in float32. */
export function ddimTables(): DdimTables {
  if (cached) return cached;
  const f = Math.fround, n = TRAIN_STEPS;
  const start = f(Math.sqrt(BETA_START)), end = f(Math.sqrt(BETA_END));
  const step = f(f(end - start) / (n - 1));
  const betas = new Float32Array(n), alphasCumprod = new Float32Array(n);
  let prod = f(1);
  for (let i = 0; i < n; i++) {
    // torch's CPU linspace kernel: start + i*step below the midpoint, end - (n-1-i)*step above
    const v = i < n / 2 ? f(start + f(i * step)) : f(end - f((n - 1 - i) * step));
    betas[i] = f(v * v);
    prod = f(prod * f(1 - betas[i]));
    alphasCumprod[i] = prod;
  }
  return (cached = { betas, alphasCumprod, finalAlphaCumprod: alphasCumprod[0] });
}

/** 'leading' spacing + steps_offset 1: arange(N) * (1000 // N), reversed, + 1. */
export function ddimTimesteps(steps: number): number[] {
  if (!Number.isInteger(steps) || steps < 1 || steps > TRAIN_STEPS) throw new Error(`steps must be an integer in 1..${TRAIN_STEPS} (got ${steps})`);
  const ratio = Math.floor(TRAIN_STEPS / steps);
  return Array.from({ length: steps }, (_, i) => (steps - 1 - i) * ratio + 1);
}

export interface DdimCoefficients { alphaProdT: number; alphaProdPrev: number; x0FromX: number; x0FromEps: number; prevFromX0: number; prevFromEps: number }

/** Scalars of one DDIM step from t to t - 1000/N, in float32 arithmetic as diffusers computes them. */
export function ddimCoefficients(t: number, steps: number, tables = ddimTables()): DdimCoefficients {
  const f = Math.fround;
  const prevT = t - Math.floor(TRAIN_STEPS / steps);
  const alphaProdT = tables.alphasCumprod[t];
  const alphaProdPrev = prevT >= 0 ? tables.alphasCumprod[prevT] : tables.finalAlphaCumprod;
  const betaProdT = f(1 - alphaProdT);
  // pred_x0 = (x - sqrt(beta_t) eps) / sqrt(alpha_t);  prev = sqrt(alpha_prev) x0 + sqrt(1 - alpha_prev) eps
  const sqrtA = f(Math.sqrt(alphaProdT));
  return {
    alphaProdT, alphaProdPrev,
    x0FromX: f(1 / sqrtA),
    x0FromEps: f(-f(Math.sqrt(betaProdT)) / sqrtA),
    prevFromX0: f(Math.sqrt(alphaProdPrev)),
    prevFromEps: f(Math.sqrt(f(1 - alphaProdPrev))),
  };
}

/** One DDIM step (eta = 0): returns { prev: x_{t-1}, x0 }. */
export function ddimStep(ctx: GpuContext, x: GpuTensor, eps: GpuTensor, t: number, steps: number): { prev: GpuTensor; x0: GpuTensor } {
  const c = ddimCoefficients(t, steps);
  const x0 = axpby(ctx, c.x0FromX, x, c.x0FromEps, eps);
  const prev = axpby(ctx, c.prevFromX0, x0, c.prevFromEps, eps);
  return { prev, x0 };
}
