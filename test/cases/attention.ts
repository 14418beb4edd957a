// Attention shapes: SD 1.4 (UNet self/cross attention, CLIP's causal text encoder, the VAE
// mid-block) scaled where lavapipe is too slow, the tiny test models, and awkward sizes.
// Shared by test/kernels/attention.test.ts and bench/kernel_cases/attention.ts.

export interface AttentionCase {
  name: string;
  B: number;
  Nq: number;
  Nk: number;
  heads: number;
  D: number;
  causal?: boolean;
}

/** Cases the tests run on every adapter (f32), sized to keep lavapipe under a minute. */
export const ATTENTION_CASES: AttentionCase[] = [
  { name: 'unet self 64x64 (1 of 8 heads)', B: 1, Nq: 4096, Nk: 4096, heads: 1, D: 40 },
  { name: 'unet self 32x32', B: 1, Nq: 1024, Nk: 1024, heads: 8, D: 80 },
  { name: 'unet self 16x16, batch 2', B: 2, Nq: 256, Nk: 256, heads: 8, D: 160 },
  { name: 'unet cross D=40', B: 2, Nq: 1024, Nk: 77, heads: 8, D: 40 },
  { name: 'unet cross D=80', B: 1, Nq: 1024, Nk: 77, heads: 8, D: 80 },
  { name: 'unet cross D=160', B: 1, Nq: 256, Nk: 77, heads: 8, D: 160 },
  { name: 'clip causal', B: 2, Nq: 77, Nk: 77, heads: 12, D: 64, causal: true },
  { name: 'clip tiny causal', B: 4, Nq: 77, Nk: 77, heads: 4, D: 8, causal: true },
  { name: 'vae mid D=512', B: 1, Nq: 256, Nk: 256, heads: 1, D: 512 },
  { name: 'vae tiny mid D=64', B: 2, Nq: 64, Nk: 64, heads: 1, D: 64 },
  { name: 'tiny unet D=4', B: 2, Nq: 64, Nk: 64, heads: 2, D: 4 },
  { name: 'tiny unet D=16 cross', B: 2, Nq: 256, Nk: 77, heads: 2, D: 16 },
  { name: 'awkward Nq=77 Nk=13 D=5', B: 2, Nq: 77, Nk: 13, heads: 3, D: 5 },
  { name: 'awkward 33 tokens causal', B: 1, Nq: 33, Nk: 33, heads: 2, D: 12, causal: true },
  { name: 'awkward Nq=33 Nk=1', B: 1, Nq: 33, Nk: 1, heads: 1, D: 8 },
  { name: 'causal Nq > Nk', B: 1, Nq: 40, Nk: 20, heads: 2, D: 8, causal: true },
];

/** SD 1.4 shapes at full size, for the benchmark (too slow for tests on software adapters). */
export const ATTENTION_BENCH_CASES: AttentionCase[] = [
  { name: 'unet self 32x32 (SD 256px / bench yardstick)', B: 1, Nq: 1024, Nk: 1024, heads: 8, D: 40 },
  { name: 'unet self 64x64', B: 1, Nq: 4096, Nk: 4096, heads: 8, D: 40 },
  { name: 'unet self 32x32 D=80', B: 1, Nq: 1024, Nk: 1024, heads: 8, D: 80 },
  { name: 'unet cross 64x64', B: 2, Nq: 4096, Nk: 77, heads: 8, D: 40 },
  { name: 'clip causal', B: 1, Nq: 77, Nk: 77, heads: 12, D: 64, causal: true },
  { name: 'vae mid 64x64', B: 1, Nq: 4096, Nk: 4096, heads: 1, D: 512 },
];

/** FLOPs counted as 4*B*heads*Nq*Nk*D (QK^T and PV, 2 per multiply-add). */
export function attentionFlops(c: AttentionCase): number {
  return 4 * c.B * c.heads * c.Nq * c.Nk * c.D;
}
