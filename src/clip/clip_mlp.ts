// transformers models/clip/modeling_clip.py::CLIPMLP: fc2(quick_gelu(fc1(x))), and its backward.
import type { GpuContext } from '../gpu/context.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { unary } from '../kernels/elementwise.js';
import { linearBackward } from '../kernels/linear_backward.js';
import { quickGeluBackward } from '../kernels/quick_gelu_backward.js';
import { Linear } from '../nn/linear.js';
import type { ParamOptions } from '../nn/param.js';
import { tapped, type Tap } from '../nn/tap.js';
import type { Weights } from '../weights/weights.js';

/** What the backward needs: fc1's output, before the activation. */
export interface MlpTape { f1: GpuTensor }

export class CLIPMLP {
  private constructor(readonly fc1: Linear, readonly fc2: Linear) {}

  /** w scoped to `...layers.{i}.mlp` */
  static async load(ctx: GpuContext, w: Weights, hiddenSize: number, intermediateSize: number, opts: ParamOptions): Promise<CLIPMLP> {
    const [fc1, fc2] = await Promise.all([
      Linear.load(ctx, w.at('fc1'), hiddenSize, intermediateSize, opts),
      Linear.load(ctx, w.at('fc2'), intermediateSize, hiddenSize, opts),
    ]);
    return new CLIPMLP(fc1, fc2);
  }

  /** x: [N, T, D] -> [N, T, D]; `residual` is added in fc2's epilogue. With `tape`, fc1's output is kept there. */
  forward(ctx: GpuContext, x: GpuTensor, residual?: GpuTensor, tap?: Tap, tape?: Partial<MlpTape>): GpuTensor {
    const f1 = tapped(ctx, tap, 'fc1', () => this.fc1.forward(ctx, x));
    // in place unless the backward needs the pre-activation values
    const g = unary(ctx, 'quick_gelu', f1, tape ? undefined : f1);
    const y = ctx.within('fc2', () => this.fc2.forward(ctx, g, residual));
    if (tape) {
      tape.f1 = f1;
      ctx.release(g);
    } else {
      ctx.release(f1);
    }
    return y;
  }

  /** d output [N, T, D] -> d x [N, T, D] */
  backward(ctx: GpuContext, dOut: GpuTensor, tape: MlpTape): GpuTensor {
    const dg = linearBackward(ctx, dOut, this.fc2.weight);
    const df1 = quickGeluBackward(ctx, tape.f1, dg);
    const dx = linearBackward(ctx, df1, this.fc1.weight);
    ctx.release(dg, df1);
    return dx;
  }

  destroy(ctx: GpuContext): void {
    this.fc1.destroy(ctx);
    this.fc2.destroy(ctx);
  }
}
