// Classifier-free guidance (Ho & Salimans 2022) wrapped around a conditional noise model, in the
// two spellings in use:
//   'newton':    eps = (1 + w) eps_c - w eps_u       (the method's notebooks; w = 2)
//   'diffusers': eps = eps_u + s (eps_c - eps_u)      (diffusers' pipelines; s = 7.5)
// They are the same for s = 1 + w up to rounding. The conditional and unconditional copies of
// every sample go through the network as ONE batch: [x, x] with [uncond, cond] embeddings.
import type { GpuContext } from '../gpu/context.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { axpby, sub } from '../kernels/elementwise.js';
import { concat0, slice0 } from '../kernels/tensor_ops.js';
import type { Denoise } from './types.js';

/** eps for a batch x [B, 4, h, w], timestep t, embeddings [B, 77, C]. */
export type NoiseModel = (x: GpuTensor, t: number, context: GpuTensor) => Promise<GpuTensor>;

export interface Guidance { form: 'newton' | 'diffusers'; scale: number }

/**
 * A Denoise for the sampler. `cond`/`uncond`: [1, 77, C] embeddings shared by every sample.
 * Without guidance (or scale 0 in the newton form / 1 in the diffusers form) only the conditional
 * pass runs.
 */
export function makeDenoise(ctx: GpuContext, model: NoiseModel, cond: GpuTensor, uncond: GpuTensor | null,
                            guidance: Guidance | null): Denoise & { dispose(): void } {
  const cache = new Map<string, GpuTensor>();
  // built on first use, usually inside the sampler's ctx.scope: kept, so the scope leaves them be
  const repeated = (key: string, parts: GpuTensor[]) => {
    const hit = cache.get(key);
    if (hit) return hit;
    const t = ctx.keep(concat0(ctx, parts));
    cache.set(key, t);
    return t;
  };
  const unguided = !guidance || !uncond || (guidance.form === 'newton' ? guidance.scale === 0 : guidance.scale === 1);
  const denoise: Denoise = async (x, t) => {
    const B = x.shape[0];
    if (unguided) return model(x, t, B === 1 ? cond : repeated(`c${B}`, Array<GpuTensor>(B).fill(cond)));
    const ctxEmb = repeated(`cfg${B}`, [...Array<GpuTensor>(B).fill(uncond!), ...Array<GpuTensor>(B).fill(cond)]);
    const xx = concat0(ctx, [x, x]);
    const e = await model(xx, t, ctxEmb);
    const eU = slice0(ctx, e, 0, B), eC = slice0(ctx, e, B, B);
    let eps: GpuTensor;
    if (guidance!.form === 'newton') {
      eps = axpby(ctx, 1 + guidance!.scale, eC, -guidance!.scale, eU);
    } else {
      const d = sub(ctx, eC, eU);
      eps = axpby(ctx, 1, eU, guidance!.scale, d);
      ctx.release(d);
    }
    ctx.release(xx, e, eU, eC);
    return eps;
  };
  return Object.assign(denoise, {
    /** frees the repeated embedding batches this denoiser built */
    dispose: () => { for (const t of cache.values()) ctx.release(t); cache.clear(); },
  });
}
