// The SD 1.x noise schedule ("scaled_linear", 1000 training steps) and the per-step scalars of
// the constrained sampler, computed exactly as the method's reference does (method.md):
//   betas = linspace(sqrt(0.00085), sqrt(0.012), 1000)^2 in float64, alphas_cumprod = cumprod(1 - betas)
//   in float64, both then rounded to float32; per-step scalars in float32 arithmetic.
// Math.fround after every operation reproduces float32 arithmetic bit for bit (IEEE single ops
// are correctly rounded, and so is fround of the exact double result for + - * / sqrt).

export const TRAIN_STEPS = 1000;
export const BETA_START = 0.00085;
export const BETA_END = 0.012;

export interface NoiseSchedule {
  betas: Float32Array;
  alphasCumprod: Float32Array;
}

let cached: NoiseSchedule | null = null;

/** The float32 tables of the method's reference (float64 linspace and cumprod, then rounded). */
export function scaledLinearSchedule(): NoiseSchedule {
  if (cached) return cached;
  const n = TRAIN_STEPS, a = Math.sqrt(BETA_START), b = Math.sqrt(BETA_END);
  const betas = new Float32Array(n), alphasCumprod = new Float32Array(n);
  let prod = 1;
  for (let i = 0; i < n; i++) {
    const beta = linspaceF64(a, b, n, i) ** 2;
    prod *= 1 - beta;
    betas[i] = beta;
    alphasCumprod[i] = prod;
  }
  return (cached = { betas, alphasCumprod });
}

/** torch.linspace in float64: start + i*step for the first half, end - (n-1-i)*step after. */
function linspaceF64(start: number, end: number, n: number, i: number): number {
  const step = (end - start) / (n - 1);
  return i < n / 2 ? start + i * step : end - (n - 1 - i) * step;
}

/** Timesteps of the method: T_start, T_start - stride, ..., down to stride (the UNet gets t itself). */
export function newtonTimesteps(steps: number, tStart = TRAIN_STEPS): { timesteps: number[]; stride: number } {
  if (!Number.isInteger(steps) || steps < 1 || steps > tStart) throw new Error(`steps must be an integer in 1..${tStart} (got ${steps})`);
  if (tStart % steps !== 0) throw new Error(`steps (${steps}) must divide ${tStart} so that the stride is an integer`);
  const stride = tStart / steps;
  const timesteps: number[] = [];
  for (let t = tStart; t > 0; t -= stride) timesteps.push(t);
  return { timesteps, stride };
}

/** Per-step scalars of the constrained sampler, in float32 arithmetic (method.md / golden README). */
export interface StepScalars {
  t: number;
  ab: number; abPrev: number; bt: number;
  sqrtAb: number; cEps: number; sqrtAbPrev: number; cDir: number; sqrtBt: number;
}

export function stepScalars(t: number, stride: number, sched = scaledLinearSchedule()): StepScalars {
  const f = Math.fround;
  const ab = sched.alphasCumprod[t - 1];                       // table index t-1; the UNet gets t
  const abPrev = sched.alphasCumprod[Math.max(t - 1 - stride, 1)];
  const bt = f(f(sched.betas[t - 1] * f(1 - abPrev)) / f(1 - ab));
  return {
    t, ab, abPrev, bt,
    sqrtAb: f(Math.sqrt(ab)),
    cEps: f(Math.sqrt(f(f(1 - ab) / ab))),
    sqrtAbPrev: f(Math.sqrt(abPrev)),
    cDir: f(Math.sqrt(f(f(1 - abPrev) - bt))),
    sqrtBt: f(Math.sqrt(bt)),
  };
}

/** Learning rates of the K inner steps: a constant, or linspace(from, to, K) computed in float64. */
export function learningRates(spec: number | [number, number], K: number): number[] {
  if (typeof spec === 'number') return Array.from({ length: K }, () => Math.fround(spec));
  const [from, to] = spec;
  if (K === 1) return [Math.fround(from)];
  return Array.from({ length: K }, (_, k) => Math.fround(linspaceF64(from, to, K, k)));
}

/**
 * The inner learning rates of one diffusion step of `stride` timesteps: learningRates(spec, K),
 * times stride / lrStride when lrStride is given (ours; SamplerSettings.lrStride). With lrStride 50
 * a run of 20 steps uses the given rates as they are, 10 steps twice them, 40 steps half.
 */
export function stepLearningRates(spec: number | [number, number], K: number, stride: number, lrStride?: number): number[] {
  const lr = learningRates(spec, K);
  return lrStride === undefined ? lr : lr.map((v) => Math.fround((v * stride) / lrStride));
}
