// Shape tables for conv2d: SD 1.4 layers (UNet at 32x32 batch 2, the 8x8 1280-channel level,
// downsamplers, the VAE encoder's asymmetric-pad downsampler, 1x1 shortcuts) and awkward sizes.
// Used by test/kernels/conv2d.test.ts and bench/kernel_cases/conv2d.ts.

export interface Conv2dCase {
  x: [number, number, number, number];
  /** [O, C, kh, kw] */
  w: [number, number, number, number];
  stride: number;
  pad: number | [number, number, number, number];
  bias: boolean;
  residual: boolean;
  note: string;
}

export const CONV2D_CASES: Conv2dCase[] = [
  { x: [2, 320, 32, 32], w: [320, 320, 3, 3], stride: 1, pad: 1, bias: true, residual: true, note: 'resnet conv2, 320 ch at 32x32, batch 2' },
  { x: [1, 1280, 8, 8], w: [1280, 1280, 3, 3], stride: 1, pad: 1, bias: true, residual: false, note: 'resnet conv at the 8x8 level' },
  { x: [2, 4, 16, 16], w: [320, 4, 3, 3], stride: 1, pad: 1, bias: true, residual: false, note: 'UNet conv_in (latent 16x16)' },
  { x: [1, 64, 17, 17], w: [64, 64, 3, 3], stride: 2, pad: 1, bias: true, residual: false, note: 'downsampler, odd size' },
  { x: [1, 32, 16, 16], w: [32, 32, 3, 3], stride: 2, pad: [0, 1, 0, 1], bias: true, residual: false, note: 'VAE encoder downsampler pad (0,1,0,1)' },
  { x: [2, 64, 9, 7], w: [48, 64, 1, 1], stride: 1, pad: 0, bias: true, residual: true, note: '1x1 shortcut, odd spatial' },
  { x: [1, 16, 13, 12], w: [8, 16, 3, 3], stride: 2, pad: 1, bias: true, residual: true, note: 'odd height, 6 output columns (a partial row block)' },
  { x: [1, 3, 11, 13], w: [5, 3, 3, 3], stride: 1, pad: 1, bias: true, residual: true, note: 'awkward: 3 input channels' },
  { x: [1, 6, 5, 7], w: [7, 6, 3, 2], stride: 2, pad: [2, 0, 1, 1], bias: false, residual: false, note: 'awkward: 3x2 kernel, uneven pad' },
];
