// diffusers models/attention.py::FeedForward with activation_fn "geglu" (SD 1.x):
// net.0 = GEGLU(proj: Linear(C, 2*4C)) -> h * gelu(gate); net.1 = Dropout (no key); net.2 = Linear(4C, C).
import type { GpuContext } from '../gpu/context.js';
import { DTYPE_BYTES, GpuTensor, numel } from '../gpu/tensor.js';
import { add } from '../kernels/elementwise.js';
import { geglu } from '../kernels/geglu.js';
import { layerNorm } from '../kernels/layer_norm.js';
import type { LnPrologue } from '../kernels/matmul.js';
import { Linear } from '../nn/linear.js';
import type { ParamOptions } from '../nn/param.js';
import type { Weights } from '../weights/weights.js';

/** GEGLU's learned part: keys `proj`. */
export class GEGLU {
  private constructor(readonly proj: Linear) {}

  static async load(ctx: GpuContext, w: Weights, dimIn: number, dimOut: number, opts: ParamOptions): Promise<GEGLU> {
    return new GEGLU(await Linear.load(ctx, w.at('proj'), dimIn, 2 * dimOut, opts));
  }

  /** x: [..., dimIn] -> [..., dimOut] */
  forward(ctx: GpuContext, x: GpuTensor): GpuTensor {
    const h = ctx.within('proj', () => this.proj.forward(ctx, x));
    const y = geglu(ctx, h);
    ctx.release(h);
    return y;
  }

  destroy(ctx: GpuContext): void { this.proj.destroy(ctx); }
}

export class FeedForward {
  private constructor(readonly net: readonly [GEGLU, undefined, Linear], readonly dim: number, readonly inner: number) {}

  /** w is scoped to `…transformer_blocks.{k}.ff`; mult 4 as in SD. */
  static async load(ctx: GpuContext, w: Weights, dim: number, opts: ParamOptions = {}): Promise<FeedForward> {
    const inner = 4 * dim;
    const [g, out] = await Promise.all([
      GEGLU.load(ctx, w.at('net', 0), dim, inner, opts),
      Linear.load(ctx, w.at('net', 2), inner, dim, opts),
    ]);
    return new FeedForward([g, undefined, out], dim, inner);
  }

  /**
   * x: [B, N, C] -> [B, N, C] (+ residual [B, N, C] when given). The GEGLU projection is
   * [rows, 8C], the largest activation in the UNet (SD 1.4 at 64x64 latents, batch 4: 168 MB in f32),
   * so when it would not fit one storage binding, rows (batch x tokens, contiguous) are processed
   * in chunks that do (`maxBytes` only lowers that limit, for tests).
   */
  forward(ctx: GpuContext, x: GpuTensor, residual?: GpuTensor,
          maxBytes = Math.min(ctx.limits.maxStorageBufferBindingSize, ctx.limits.maxBufferSize)): GpuTensor {
    const rows = numel(x.shape) / this.dim;
    const rowBytes = 2 * this.inner * DTYPE_BYTES[x.dtype];
    const maxRows = Math.floor(maxBytes / rowBytes);
    if (rows <= maxRows) return this.run(ctx, x, residual);
    const out = ctx.alloc(x.shape, x.dtype);
    const elt = DTYPE_BYTES[x.dtype];
    // chunk rows so that each chunk's byte offset stays 4-byte aligned (copyBufferToBuffer)
    const step = Math.max(1, maxRows - (maxRows % 2));
    for (let r0 = 0; r0 < rows; r0 += step) {
      const n = Math.min(step, rows - r0);
      const xin = ctx.alloc([n, this.dim], x.dtype);
      ctx.copy(x, xin, r0 * this.dim * elt, 0, n * this.dim * elt);
      const y = this.run(ctx, xin);
      ctx.copy(y, out, 0, r0 * this.dim * elt, n * this.dim * elt);
      ctx.release(xin, y);
    }
    if (!residual) return out;
    const y = add(ctx, out, residual);
    ctx.release(out);
    return y;
  }

  /**
   * forward(norm(x)) + residual with the norm (a LayerNorm prologue) and GEGLU both inside net.0's
   * GEMM: [rows, 4C] is written once, no [rows, 8C] projection and no normed copy of x. Falls back
   * to the unfused chunked path when even [rows, 4C] exceeds one binding.
   */
  forwardFused(ctx: GpuContext, x: GpuTensor, residual: GpuTensor, ln: LnPrologue,
               maxBytes = Math.min(ctx.limits.maxStorageBufferBindingSize, ctx.limits.maxBufferSize)): GpuTensor {
    const rows = numel(x.shape) / this.dim;
    if (rows * this.inner * DTYPE_BYTES[x.dtype] > maxBytes) {
      const n = layerNorm(ctx, x, ln.gamma, ln.beta, ln.eps);
      const y = this.forward(ctx, n, residual, maxBytes);
      ctx.release(n);
      return y;
    }
    const g = ctx.within('net.0', () => ctx.within('proj', () => this.net[0].proj.forward(ctx, x, undefined, { ln, geglu: true })));
    const y = ctx.within('net.2', () => this.net[2].forward(ctx, g, residual));
    ctx.release(g);
    return y;
  }

  private run(ctx: GpuContext, x: GpuTensor, residual?: GpuTensor): GpuTensor {
    const g = ctx.within('net.0', () => this.net[0].forward(ctx, x));
    const y = ctx.within('net.2', () => this.net[2].forward(ctx, g, residual));
    ctx.release(g);
    return y;
  }

  destroy(ctx: GpuContext): void {
    this.net[0].destroy(ctx);
    this.net[2].destroy(ctx);
  }
}
