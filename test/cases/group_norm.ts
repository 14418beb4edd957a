// GroupNorm shape table, shared by test/kernels/group_norm.test.ts and bench/kernel_cases/group_norm.ts.
export interface GroupNormCase {
  shape: [number, number, number, number];
  groups: number;
  eps: number;
  silu: boolean;
  /** added to the N(0,1) input: a large mean tests the variance's numerical soundness */
  mean?: number;
}

/** SD 1.4 UNet / VAE shapes (batch 2 = classifier-free guidance). */
export const GROUP_NORM_SD_CASES: GroupNormCase[] = [
  { shape: [2, 320, 64, 64], groups: 32, eps: 1e-5, silu: true },   // down_blocks.0 resnets
  { shape: [2, 640, 32, 32], groups: 32, eps: 1e-6, silu: false },  // transformer norm
  { shape: [2, 1280, 16, 16], groups: 32, eps: 1e-5, silu: true },
  { shape: [2, 1280, 8, 8], groups: 32, eps: 1e-5, silu: true },    // mid block
  { shape: [1, 512, 64, 64], groups: 32, eps: 1e-6, silu: true },   // VAE decoder
];

/** Sizes that are not multiples of the workgroup or chunk, and large means. */
export const GROUP_NORM_ODD_CASES: GroupNormCase[] = [
  { shape: [1, 17, 7, 13], groups: 1, eps: 1e-5, silu: false },
  { shape: [2, 64, 7, 13], groups: 32, eps: 1e-6, silu: true },
  { shape: [3, 6, 5, 1], groups: 3, eps: 1e-5, silu: false },       // 10 values per group < WG
  { shape: [1, 32, 61, 67], groups: 1, eps: 1e-5, silu: true },     // 130784 values, H*W odd: scalar only
  { shape: [1, 24, 60, 61], groups: 1, eps: 1e-5, silu: true },     // 87840 values: ragged last split chunk
  { shape: [2, 320, 16, 16], groups: 32, eps: 1e-5, silu: false, mean: 100 },
  { shape: [1, 64, 96, 96], groups: 32, eps: 1e-6, silu: false, mean: -300 },
];

/** The embedded model's (weights/fmnist, 16 groups) at quality-bench batches, and groups smaller than a subgroup. */
export const GROUP_NORM_SMALL_CASES: GroupNormCase[] = [
  { shape: [20, 64, 8, 8], groups: 16, eps: 1e-5, silu: true },
  { shape: [50, 128, 4, 4], groups: 16, eps: 1e-5, silu: false, mean: 50 },
  { shape: [5, 12, 2, 2], groups: 6, eps: 1e-5, silu: true },      // 8 values: fewer vec4 than lanes
];
