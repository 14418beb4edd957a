// Linear observation operators in pixel space, each with its exact adjoint, built from dense
// per-axis matrices (axis_matmul): the operators of super-resolution (antialiased bicubic or box
// downscale), deblurring (Gaussian blur) and colourisation (grey-scale); and the pixel mask of
// inpainting in pixel space (elementwise, its own adjoint). A user can supply any other operator
// through the PixelOperator interface.
import type { GpuContext } from '../../gpu/context.js';
import type { GpuTensor } from '../../gpu/tensor.js';
import { axisMatmul } from '../../kernels/axis_matmul.js';
import { mul } from '../../kernels/elementwise.js';

export interface PixelOperator {
  readonly name: string;
  /** image [N, 3, H, W] -> observation */
  forward(ctx: GpuContext, img: GpuTensor): GpuTensor;
  /** observation -> image [N, 3, H, W]: the exact transpose of forward */
  adjoint(ctx: GpuContext, obs: GpuTensor): GpuTensor;
  destroy?(ctx: GpuContext): void;
}

/** A [rows, cols] row-major matrix. */
export interface Matrix { rows: number; cols: number; data: Float32Array }

export function transpose(m: Matrix): Matrix {
  const data = new Float32Array(m.rows * m.cols);
  for (let i = 0; i < m.rows; i++) for (let j = 0; j < m.cols; j++) data[j * m.rows + i] = m.data[i * m.cols + j];
  return { rows: m.cols, cols: m.rows, data };
}

/** Box (area) average by an integer factor: out[i] = mean(in[f*i .. f*i+f-1]). */
export function boxDownMatrix(n: number, factor: number): Matrix {
  if (n % factor) throw new Error(`size ${n} is not divisible by the scale ${factor}`);
  const rows = n / factor, data = new Float32Array(rows * n);
  for (let i = 0; i < rows; i++) for (let k = 0; k < factor; k++) data[i * n + i * factor + k] = 1 / factor;
  return { rows, cols: n, data };
}

/** Keys' cubic kernel with a = -0.5 (PIL and PyTorch's antialiased bicubic). */
function cubic(x: number, a = -0.5): number {
  x = Math.abs(x);
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

/**
 * Antialiased bicubic downscale by `factor` (PyTorch interpolate(mode='bicubic', antialias=True),
 * PIL's resize): the kernel is stretched by the scale, its weights clipped to the image and
 * renormalised to sum to 1.
 */
export function bicubicDownMatrix(n: number, factor: number): Matrix {
  if (n % factor) throw new Error(`size ${n} is not divisible by the scale ${factor}`);
  const rows = n / factor, data = new Float32Array(rows * n);
  const support = 2 * factor;
  for (let i = 0; i < rows; i++) {
    const center = (i + 0.5) * factor;
    const lo = Math.max(0, Math.floor(center - support + 0.5)), hi = Math.min(n, Math.floor(center + support + 0.5));
    let sum = 0;
    const w: number[] = [];
    for (let p = lo; p < hi; p++) { const v = cubic((p - center + 0.5) / factor); w.push(v); sum += v; }
    for (let p = lo; p < hi; p++) data[i * n + p] = w[p - lo] / sum;
  }
  return { rows, cols: n, data };
}

/** Gaussian blur along one axis (normalised kernel, radius ceil(3 sigma), edges replicated). */
export function gaussianBlurMatrix(n: number, sigma: number): Matrix {
  if (!(sigma > 0)) throw new Error(`blur sigma must be > 0 (got ${sigma})`);
  const r = Math.ceil(3 * sigma), data = new Float32Array(n * n);
  const k = Array.from({ length: 2 * r + 1 }, (_, j) => Math.exp(-((j - r) ** 2) / (2 * sigma * sigma)));
  const s = k.reduce((a, b) => a + b, 0);
  for (let i = 0; i < n; i++) for (let j = -r; j <= r; j++) {
    const p = Math.min(n - 1, Math.max(0, i + j));
    data[i * n + p] += k[j + r] / s;
  }
  return { rows: n, cols: n, data };
}

/** ITU-R BT.601 luma: [1, 3] applied along the channel axis. */
export const GREY_MATRIX: Matrix = { rows: 1, cols: 3, data: Float32Array.from([0.299, 0.587, 0.114]) };

/** An operator that applies per-axis matrices: channels (axis 1), rows (axis 2), columns (axis 3). */
export class SeparableOperator implements PixelOperator {
  private readonly fwd: [number, GpuTensor][] = [];
  private readonly adj: [number, GpuTensor][] = [];

  /** the per-axis matrices on the host too (keep_observed.ts projects results onto A x = y with them) */
  constructor(ctx: GpuContext, readonly name: string, readonly axes: OperatorAxes) {
    for (const [axis, m] of [[1, axes.c], [2, axes.h], [3, axes.w]] as const) {
      if (!m) continue;
      this.fwd.push([axis, ctx.upload(m.data, [m.rows, m.cols], 'f32', true)]);
      const t = transpose(m);
      this.adj.unshift([axis, ctx.upload(t.data, [t.rows, t.cols], 'f32', true)]);
    }
    if (this.fwd.length === 0) throw new Error(`operator ${name}: needs at least one axis matrix`);
  }

  forward(ctx: GpuContext, img: GpuTensor): GpuTensor { return this.apply(ctx, img, this.fwd); }
  adjoint(ctx: GpuContext, obs: GpuTensor): GpuTensor { return this.apply(ctx, obs, this.adj); }

  private apply(ctx: GpuContext, x: GpuTensor, ms: [number, GpuTensor][]): GpuTensor {
    let cur = x;
    for (const [axis, m] of ms) {
      const next = axisMatmul(ctx, cur, m, axis);
      if (cur !== x) ctx.release(cur);
      cur = next;
    }
    return cur;
  }

  destroy(ctx: GpuContext): void {
    for (const [, m] of [...this.fwd, ...this.adj]) ctx.destroy(m);
  }
}

export type DownscaleKernel = 'bicubic' | 'box';

/** An operator's name and per-axis matrices: what both its GPU form and keep_observed.ts (host) use. */
export interface OperatorSpec { name: string; axes: OperatorAxes }

/** Super-resolution observation: downscale [N,3,H,W] by `factor` with the chosen kernel. */
export const downscaleSpec = (H: number, W: number, factor: number, kernel: DownscaleKernel = 'bicubic'): OperatorSpec =>
  ({ name: `downscale-${kernel}-x${factor}`, axes: downscaleAxes(H, W, factor, kernel) });
export const blurSpec = (H: number, W: number, sigma: number): OperatorSpec => ({ name: `gaussian-blur-${sigma}`, axes: blurAxes(H, W, sigma) });
export const GREY_SPEC: OperatorSpec = { name: 'greyscale', axes: { c: GREY_MATRIX } };

export const separableOperator = (ctx: GpuContext, spec: OperatorSpec) => new SeparableOperator(ctx, spec.name, spec.axes);
export function downscaleOperator(ctx: GpuContext, H: number, W: number, factor: number, kernel: DownscaleKernel = 'bicubic'): SeparableOperator {
  return separableOperator(ctx, downscaleSpec(H, W, factor, kernel));
}
export const blurOperator = (ctx: GpuContext, H: number, W: number, sigma: number) => separableOperator(ctx, blurSpec(H, W, sigma));
export const greyOperator = (ctx: GpuContext) => separableOperator(ctx, GREY_SPEC);

/** The per-axis matrices of the operators above (host side). */
export type OperatorAxes = { c?: Matrix; h?: Matrix; w?: Matrix };
export function downscaleAxes(H: number, W: number, factor: number, kernel: DownscaleKernel = 'bicubic'): OperatorAxes {
  const make = kernel === 'box' ? boxDownMatrix : bicubicDownMatrix;
  return { h: make(H, factor), w: make(W, factor) };
}
export function blurAxes(H: number, W: number, sigma: number): OperatorAxes {
  return { h: gaussianBlurMatrix(H, sigma), w: gaussianBlurMatrix(W, sigma) };
}

/**
 * Inpainting's observation in pixel space: A(img) = M * img with M [N, 3, H, W] of 0/1 (1 = known),
 * so A^T = A. Every known pixel is constrained, where the latent constraint pins only the latent
 * cells whose whole f x f patch is known.
 */
export class MaskOperator implements PixelOperator {
  readonly name = 'pixel-mask';
  constructor(readonly mask: GpuTensor) {}
  forward(ctx: GpuContext, img: GpuTensor): GpuTensor {
    return mul(ctx, img, this.mask);
  }
  adjoint(ctx: GpuContext, obs: GpuTensor): GpuTensor {
    return mul(ctx, obs, this.mask);
  }
  destroy(ctx: GpuContext): void {
    ctx.release(this.mask);
  }
}
