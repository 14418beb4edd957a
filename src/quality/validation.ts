// The validation split and the scores that settings are chosen by (ours, issue 13). bench/quality
// scores the FIRST N test images (N = 100 for the record), so settings — the task table's
// defaults, the keep-known feather (chosen on 492..499), the adaptive-K tolerance — are chosen on
// images from VALIDATION_FIRST on instead, which the record never sees (N <= 400).
import { psnr } from './metrics.js';

/** First test image of the validation split (images VALIDATION_FIRST..499). */
export const VALIDATION_FIRST = 400;
/** The quality bench may use at most this many images without touching the validation split. */
export const BENCH_MAX_N = VALIDATION_FIRST;

/** Per-channel means of each image of [N, C, H, W] in [-1, 1], in 0..255 units: [N][C]. */
export function channelMeans(data: Float32Array, N: number, C: number, HW: number): number[][] {
  const out: number[][] = [];
  for (let n = 0; n < N; n++) {
    const m: number[] = [];
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let p = 0; p < HW; p++) s += data[(n * C + c) * HW + p]!;
      m.push((s / HW + 1) * 127.5);
    }
    out.push(m);
  }
  return out;
}

export interface ColourDrift {
  /** max over images and channels of |mean_c(output) - mean_c(input)|, in 1/255 */
  meanError: number;
  /** max over images of (max_c - min_c) of the output's channel means, in 1/255 (0 = no tint on a grey model) */
  tint: number;
}

/** output [N, 3, H, W] against the observation the sampler saw, input [N, 3, h, w] (both in [-1, 1]). */
export function colourDrift(output: Float32Array, input: Float32Array, N: number, HW: number, hwIn: number): ColourDrift {
  const mo = channelMeans(output, N, 3, HW), mi = channelMeans(input, N, 3, hwIn);
  let meanError = 0, tint = 0;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < 3; c++) meanError = Math.max(meanError, Math.abs(mo[n]![c]! - mi[n]![c]!));
    tint = Math.max(tint, Math.max(...mo[n]!) - Math.min(...mo[n]!));
  }
  return { meanError, tint };
}

/** Mean PSNR over the images of a batch (whole image, or where weight [N, H*W] is 1). */
export function meanPsnr(a: Float32Array, b: Float32Array, N: number, S: number, weight?: Float32Array): number {
  const px = 3 * S * S;
  let p = 0;
  for (let i = 0; i < N; i++) {
    p += psnr(a.subarray(i * px, (i + 1) * px), b.subarray(i * px, (i + 1) * px), 3, S, S, weight?.subarray(i * S * S, (i + 1) * S * S)) / N;
  }
  return p;
}
