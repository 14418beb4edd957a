// Shape tables for linear / bmm: SD 1.4 layer shapes (M scaled down where noted; K and N kept
// SD-sized) and awkward sizes (not multiples of any tile, K not a multiple of 4).
// Used by test/kernels/matmul.test.ts and bench/kernel_cases/matmul.ts.

export interface LinearCase {
  /** x shape [..., K] */
  x: number[];
  /** output features */
  N: number;
  bias: boolean;
  residual: boolean;
  note: string;
}

export const LINEAR_CASES: LinearCase[] = [
  { x: [1, 256, 320], N: 320, bias: true, residual: true, note: 'attn1 to_out at 64x64 (M 4096 -> 256)' },
  { x: [2, 77, 768], N: 320, bias: false, residual: false, note: 'attn2 to_k from CLIP tokens' },
  { x: [1, 32, 1280], N: 1280, bias: true, residual: false, note: '8x8 level projection (M 64 -> 32)' },
  { x: [2, 1280], N: 1280, bias: true, residual: false, note: 'time embedding (M = batch)' },
  { x: [7, 13], N: 5, bias: true, residual: true, note: 'awkward 7x13x5' },
  { x: [3, 5, 37], N: 77, bias: false, residual: true, note: 'awkward batched, K % 4 = 1' },
  { x: [1, 1, 6], N: 3, bias: true, residual: false, note: 'single row' },
];

export interface BmmCase { B: number; M: number; N: number; K: number; transA: boolean; transB: boolean; alpha: number; note: string }

export const BMM_CASES: BmmCase[] = [
  { B: 1, M: 64, N: 64, K: 320, transA: true, transB: false, alpha: 1 / 320, note: 'Gram F^T F of [320, 64] features' },
  { B: 2, M: 77, N: 40, K: 77, transA: false, transB: false, alpha: 1, note: 'probs x V (77 tokens)' },
  { B: 2, M: 33, N: 77, K: 40, transA: false, transB: true, alpha: 0.158, note: 'Q K^T, scaled' },
  { B: 3, M: 7, N: 5, K: 13, transA: true, transB: true, alpha: -2, note: 'awkward, both transposed' },
];
