// Where the sampler's randomness comes from. Every run is deterministic given its source.
// Seeded: sample n of a batch with seed s_n draws x_init from Rng(s_n) and the per-step noise
// z[0], z[1], ... in order from Rng(s_n + 1) (src/util/rng.ts: xoshiro128** + Box-Muller), so a
// sample's result does not depend on what else is in its batch. From a file: the golden layout,
// `x_init` [N, ...] and `z_list` [steps, N, ...].
import { Rng } from '../util/rng.js';

export interface NoiseSource {
  /** x_T for the whole batch, [N, ...sampleShape] flattened */
  initial(batch: number, sampleSize: number): Float32Array;
  /** z for diffusion step s (0-based) */
  step(s: number, batch: number, sampleSize: number): Float32Array;
}

export function seededNoise(seeds: number[]): NoiseSource {
  for (const s of seeds) if (!Number.isInteger(s) || s < 0 || s > 0xfffffffe) throw new Error(`seed must be an integer in 0..4294967294 (got ${s})`);
  let stepStreams: Rng[] | null = null;
  let nextStep = 0;
  return {
    initial(batch, size) {
      checkBatch(seeds.length, batch);
      const out = new Float32Array(batch * size);
      seeds.forEach((seed, n) => out.set(new Rng(seed).normals(size), n * size));
      return out;
    },
    step(s, batch, size) {
      checkBatch(seeds.length, batch);
      if (!stepStreams || s < nextStep) { stepStreams = seeds.map((seed) => new Rng(seed + 1)); nextStep = 0; }
      // streams are sequential: skip the draws of steps not asked for
      for (; nextStep < s; nextStep++) for (const r of stepStreams) r.normals(size);
      const out = new Float32Array(batch * size);
      stepStreams.forEach((r, n) => out.set(r.normals(size), n * size));
      nextStep = s + 1;
      return out;
    },
  };
}

/** Noise recorded elsewhere (e.g. the golden trajectories): x_init [N, ...], z_list [steps, N, ...]. */
export function recordedNoise(xInit: Float32Array, zList: Float32Array, steps: number): NoiseSource {
  return {
    initial(batch, size) {
      if (xInit.length !== batch * size) throw new Error(`noise file: x_init has ${xInit.length} values, the sampler needs ${batch * size}`);
      return xInit;
    },
    step(s, batch, size) {
      if (zList.length !== steps * batch * size) throw new Error(`noise file: z_list has ${zList.length} values, the sampler needs ${steps} x ${batch * size}`);
      return zList.subarray(s * batch * size, (s + 1) * batch * size);
    },
  };
}

function checkBatch(seeds: number, batch: number): void {
  if (seeds !== batch) throw new Error(`noise: ${seeds} seeds for a batch of ${batch}`);
}
