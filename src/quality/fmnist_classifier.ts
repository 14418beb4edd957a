// The small Fashion-MNIST classifier trained with the embedded model (train/models.py
// FMNISTClassifier), run by Tether's own kernels. Its 128-d penultimate activations (after SiLU)
// are the features of bench/quality's Fréchet distance. Architecture (config.json):
//   [N,3,32,32] -> (conv3x3 stride s_i -> GroupNorm -> SiLU) x4 -> flatten (NCHW) -> fc_feat -> SiLU
//   -> fc_out (10 logits). Keys: convs.{i}, norms.{i}, fc_feat, fc_out.
import type { GpuContext } from '../gpu/context.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { unary } from '../kernels/elementwise.js';
import { Conv2d, GroupNorm, Linear, loadModel, type ParamOptions } from '../nn/index.js';
import type { Weights } from '../weights/weights.js';

export interface ClassifierConfig {
  in_channels: number; image_size: number; channels: number[]; strides: number[];
  norm_num_groups: number; norm_eps: number; feature_dim: number; num_classes: number;
}

export class FmnistClassifier {
  private constructor(readonly config: ClassifierConfig, readonly convs: Conv2d[], readonly norms: GroupNorm[],
                      readonly fc_feat: Linear, readonly fc_out: Linear) {}

  static async load(ctx: GpuContext, w: Weights, config: ClassifierConfig, opts: ParamOptions = {}): Promise<FmnistClassifier> {
    return loadModel(ctx, w, opts, async (o) => {
      let cin = config.in_channels, side = config.image_size;
      const convs: Promise<Conv2d>[] = [], norms: Promise<GroupNorm>[] = [];
      config.channels.forEach((c, i) => {
        convs.push(Conv2d.load(ctx, w.at('convs').at(i), cin, c, 3, { ...o, stride: config.strides[i], pad: 1 }));
        norms.push(GroupNorm.load(ctx, w.at('norms').at(i), c, { ...o, groups: config.norm_num_groups, eps: config.norm_eps }));
        cin = c; side /= config.strides[i]!;
      });
      const [cs, ns, feat, out] = await Promise.all([Promise.all(convs), Promise.all(norms),
        Linear.load(ctx, w.at('fc_feat'), cin * side * side, config.feature_dim, o),
        Linear.load(ctx, w.at('fc_out'), config.feature_dim, config.num_classes, o)]);
      return new FmnistClassifier(config, cs, ns, feat, out);
    });
  }

  /** images [N, 3, 32, 32] in [-1, 1] -> { features [N, 128], logits [N, 10] } */
  forward(ctx: GpuContext, images: GpuTensor): { features: GpuTensor; logits: GpuTensor } {
    let h = images;
    for (let i = 0; i < this.convs.length; i++) {
      const c = this.convs[i]!.forward(ctx, h);
      if (h !== images) ctx.release(h);
      h = this.norms[i]!.forward(ctx, c, true);            // GroupNorm + SiLU
      ctx.release(c);
    }
    const flat = h.view([h.shape[0]!, h.size / h.shape[0]!]); // flatten in NCHW order, as torch does
    const pre = this.fc_feat.forward(ctx, flat);
    const features = unary(ctx, 'silu', pre);
    const logits = this.fc_out.forward(ctx, features);
    ctx.release(h, pre);
    return { features, logits };
  }

  destroy(ctx: GpuContext): void {
    for (const m of [...this.convs, ...this.norms, this.fc_feat, this.fc_out]) m.destroy(ctx);
  }
}
