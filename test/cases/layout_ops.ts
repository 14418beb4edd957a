// Shape tables for the layout and pointwise kernels: layer_norm, geglu, transpose,
// upsample_nearest, concat. SD 1.4 shapes (batch 2 = classifier-free guidance) plus awkward ones.
export const LAYER_NORM_CASES: { shape: number[]; eps: number }[] = [
  { shape: [1, 4096, 320], eps: 1e-5 },   // transformer at 64x64 latents, one sample
  { shape: [2, 77, 768], eps: 1e-5 },     // CLIP hidden states
  { shape: [2, 256, 1280], eps: 1e-5 },   // transformer at 16x16
  { shape: [3, 5, 17], eps: 1e-6 },       // C below the workgroup size, not a power of two
  { shape: [7, 1000], eps: 1e-5 },        // C not a multiple of the workgroup size
  { shape: [37, 36], eps: 1e-5 },         // rows not a multiple of the rows per workgroup
];

export const GEGLU_CASES: number[][] = [
  [2, 256, 2 * 1280],  // feed-forward at 16x16 (SD: 8C = 2 * 4C)
  [2, 77, 2 * 640],
  [1, 13, 2 * 17],
  [3, 1, 2],
];

export const TRANSPOSE_CASES: number[][] = [
  [2, 320, 4096],   // NCHW -> tokens at 64x64
  [2, 4096, 320],   // tokens -> NCHW
  [2, 1280, 64],
  [1, 17, 91],      // neither dim a multiple of the tile
  [3, 1, 5],
  [1, 33, 1],
];

export const UPSAMPLE_CASES: { shape: number[]; out: [number, number] }[] = [
  { shape: [2, 1280, 8, 8], out: [16, 16] },   // UNet up block, 2x
  { shape: [1, 512, 32, 32], out: [64, 64] },  // VAE decoder, 2x
  { shape: [1, 4, 7, 7], out: [13, 13] },      // odd latent: upsample to the skip's size
  { shape: [2, 3, 14, 5], out: [46, 7] },      // 14 -> 46: float32 scale gives floor 6 at i=23 (exact: 7)
  { shape: [1, 2, 5, 6], out: [5, 12] },       // identity rows, 2x columns
];

export const CONCAT_CASES: { a: number[]; b: number[] }[] = [
  { a: [2, 1280, 8, 8], b: [2, 1280, 8, 8] },
  { a: [2, 640, 32, 32], b: [2, 320, 32, 32] },
  { a: [1, 3, 7, 13], b: [1, 2, 7, 13] },       // odd sizes: f16 copies would be 2-byte aligned
  { a: [3, 1, 1, 1], b: [3, 4, 1, 1] },
];
