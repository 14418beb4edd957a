// A plain float64 CPU transcription of the golden README's algorithm (exact and fused schedules,
// and the baselines), for testing the GPU sampler with a closed-form denoiser.
import { learningRates, newtonTimesteps, stepScalars } from '../../src/sampler/schedule.js';

export type CpuDenoise = (x: Float64Array, t: number) => Float64Array;
export type CpuDirection = (x0: Float64Array) => Float64Array;

export interface RefSettings {
  steps: number; K: number; lr: number | [number, number]; h: number;
  schedule: 'exact' | 'fused'; method: 'newton' | 'no-jacobian' | 'replace' | 'none';
}

const maxAbs = (v: Float64Array) => v.reduce((m, a) => Math.max(m, Math.abs(a)), 0);
const lin = (a: number, x: Float64Array, b: number, y: Float64Array) => x.map((v, i) => a * v + b * y[i]);

export function referenceSample(denoise: CpuDenoise, direction: CpuDirection | null, xInit: Float32Array,
  zList: Float32Array[], cfg: RefSettings, replace?: { zY: Float64Array; mask: Float64Array }): Float64Array {
  const { timesteps, stride } = newtonTimesteps(cfg.steps);
  const K = cfg.method === 'newton' || cfg.method === 'no-jacobian' ? cfg.K : 0;
  const lr = learningRates(cfg.lr, Math.max(K, 1));
  let x = Float64Array.from(xInit);
  let result = x;
  timesteps.forEach((t, si) => {
    const s = stepScalars(t, stride);
    const x0Of = (xx: Float64Array, e: Float64Array) => lin(1 / s.sqrtAb, xx, -s.cEps, e);
    let eps = denoise(x, t), x0 = x0Of(x, eps);
    if (cfg.method === 'newton' && cfg.schedule === 'exact') {
      for (let k = 0; k < K; k++) {
        const d = direction!(x0);
        const delta = cfg.h / maxAbs(d);
        const xp = lin(1, x, delta, d);
        const x0p = x0Of(xp, denoise(xp, t));
        const gRaw = lin(1 / delta, x0p, -1 / delta, x0);
        const g = gRaw.map((v) => v / maxAbs(gRaw));
        x = lin(1, x, lr[k], g);
        eps = denoise(x, t); x0 = x0Of(x, eps);
      }
    } else if (cfg.method === 'newton') {
      let d = direction!(x0);
      for (let k = 0; k < K; k++) {
        const delta = cfg.h / maxAbs(d);
        const xp = lin(1, x, delta, d);
        const x0Now = x0Of(x, denoise(x, t)), x0p = x0Of(xp, denoise(xp, t));
        const gRaw = lin(1 / delta, x0p, -1 / delta, x0Now);
        const m = maxAbs(gRaw);
        d = direction!(x0Now);
        x = lin(1, x, lr[k], gRaw.map((v) => v / m));
      }
      eps = denoise(x, t); x0 = x0Of(x, eps);
    } else if (cfg.method === 'no-jacobian') {
      for (let k = 0; k < K; k++) {
        const d = direction!(x0);
        const m = maxAbs(d);
        x = lin(1, x, lr[k], d.map((v) => v / m));
        eps = denoise(x, t); x0 = x0Of(x, eps);
      }
    }
    const z = Float64Array.from(zList[si]);
    x = lin(1, lin(s.sqrtAbPrev, x0, s.cDir, eps), s.sqrtBt, z);
    if (cfg.method === 'replace' && replace) {
      const known = lin(s.sqrtAbPrev, replace.zY, Math.sqrt(1 - s.abPrev), z);
      x = x.map((v, i) => v + replace.mask[i] * (known[i] - v));
    }
    result = x0;
  });
  return result;
}
