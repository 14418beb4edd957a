// diffusers models/transformers/transformer_2d.py::Transformer2DModel, SD 1.x path: continuous
// input, use_linear_projection=False (proj_in/proj_out are 1x1 convs on NCHW), GroupNorm eps 1e-6.
import type { GpuContext } from '../gpu/context.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { gemm } from '../kernels/matmul.js';
import { transpose } from '../kernels/transpose.js';
import { Conv2d } from '../nn/conv2d.js';
import { GroupNorm } from '../nn/group_norm.js';
import type { ParamOptions } from '../nn/param.js';
import type { Weights } from '../weights/weights.js';
import { BasicTransformerBlock } from './basic_transformer_block.js';
import { tapped, withResidual, type Tap } from '../nn/tap.js';

export interface Transformer2DOptions extends ParamOptions {
  heads: number;
  crossAttentionDim: number;
  groups: number;
  /** transformer_layers_per_block (1 in SD 1.x) */
  layers?: number;
}

export class Transformer2DModel {
  private constructor(readonly norm: GroupNorm, readonly proj_in: Conv2d,
                      readonly transformer_blocks: readonly BasicTransformerBlock[], readonly proj_out: Conv2d) {}

  /** w is scoped to `…attentions.{j}`; channels = heads * head size. */
  static async load(ctx: GpuContext, w: Weights, channels: number, opts: Transformer2DOptions): Promise<Transformer2DModel> {
    const dimHead = channels / opts.heads;
    if (!Number.isInteger(dimHead)) throw new Error(`Transformer2DModel: ${channels} channels not divisible by ${opts.heads} heads`);
    const blockOpts = { ...opts, dimHead, heads: opts.heads, crossAttentionDim: opts.crossAttentionDim };
    const [norm, proj_in, proj_out, ...blocks] = await Promise.all([
      GroupNorm.load(ctx, w.at('norm'), channels, { ...opts, groups: opts.groups, eps: 1e-6 }),
      Conv2d.load(ctx, w.at('proj_in'), channels, channels, 1, opts),
      Conv2d.load(ctx, w.at('proj_out'), channels, channels, 1, opts),
      ...Array.from({ length: opts.layers ?? 1 }, (_, k) =>
        BasicTransformerBlock.load(ctx, w.at('transformer_blocks', k), channels, blockOpts)),
    ]);
    return new Transformer2DModel(norm as GroupNorm, proj_in as Conv2d, blocks as BasicTransformerBlock[], proj_out as Conv2d);
  }

  /** x: [B, C, H, W], context: [B, M, Ccross] -> [B, C, H, W] (= x + proj_out(...)). x is not released. */
  forward(ctx: GpuContext, x: GpuTensor, context: GpuTensor, tap?: Tap): GpuTensor {
    const [B, C, H, W] = x.shape as [number, number, number, number];
    if (!tap) return this.forwardFused(ctx, x, context);
    // 1. input: norm -> proj_in (NCHW) -> tokens [B, H*W, C]
    const n = tapped(ctx, tap, 'norm', () => this.norm.forward(ctx, x));
    const p = tapped(ctx, tap, 'proj_in', () => this.proj_in.forward(ctx, n));
    ctx.release(n);
    let t = transpose(ctx, p.view([B, C, H * W]));
    ctx.release(p);
    // 2. blocks
    this.transformer_blocks.forEach((block, k) => {
      const y = tapped(ctx, tap, `transformer_blocks.${k}`, () => block.forward(ctx, t, context, tap));
      ctx.release(t);
      t = y;
    });
    // 3. output: tokens -> NCHW -> proj_out, + x fused in the conv epilogue
    const back = transpose(ctx, t).view([B, C, H, W]);
    ctx.release(t);
    const y = withResidual(ctx, tap, 'proj_out', x, (r) => this.proj_out.forward(ctx, back, r));
    ctx.release(back);
    return y;
  }

  /**
   * forward without taps: proj_in and proj_out are GEMMs whose strides do the NCHW <-> token-major
   * layout change (proj_in writes tokens [B, HW, C] from NCHW pixels, proj_out reads tokens and
   * writes NCHW with x added in its epilogue), so neither transpose is dispatched.
   */
  private forwardFused(ctx: GpuContext, x: GpuTensor, context: GpuTensor): GpuTensor {
    const [B, C, H, W] = x.shape as [number, number, number, number];
    const HW = H * W;
    const n = ctx.within('norm', () => this.norm.forward(ctx, x));
    let t = ctx.alloc([B, HW, C], x.dtype);
    ctx.within('proj_in', () => gemm(ctx, {
      batch: B, M: HW, N: C, K: C, a: n, aSb: C * HW, aSm: 1, aSk: HW,
      b: this.proj_in.weight, bSb: 0, bSn: C, bSk: 1, y: t, ySb: HW * C, ySm: C, ySn: 1, bias: this.proj_in.bias,
    }));
    ctx.release(n);
    this.transformer_blocks.forEach((block, k) => {
      const y = ctx.within(`transformer_blocks.${k}`, () => block.forward(ctx, t, context));
      ctx.release(t);
      t = y;
    });
    const y = ctx.alloc(x.shape, x.dtype);
    ctx.within('proj_out', () => gemm(ctx, {
      batch: B, M: HW, N: C, K: C, a: t, aSb: HW * C, aSm: C, aSk: 1,
      b: this.proj_out.weight, bSb: 0, bSn: C, bSk: 1, y, ySb: C * HW, ySm: 1, ySn: HW, bias: this.proj_out.bias, residual: x,
    }));
    ctx.release(t);
    return y;
  }

  destroy(ctx: GpuContext): void {
    this.norm.destroy(ctx);
    this.proj_in.destroy(ctx);
    for (const b of this.transformer_blocks) b.destroy(ctx);
    this.proj_out.destroy(ctx);
  }
}
