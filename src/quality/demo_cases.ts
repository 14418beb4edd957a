// The tasks of the demo and bench/quality, built from ground-truth test images: each case holds
// the observation the sampler sees and what is needed to score the result.
import type { GpuContext } from '../gpu/context.js';
import type { ImageData4, TaskRequest } from '../pipeline/tasks.js';
import { blurOperator, downscaleOperator } from '../sampler/constraints/pixel_operators.js';
import { boxMask, freeFormMask } from './masks.js';

export type CaseKind = 'inpaint-box' | 'inpaint-free' | 'superres-x4' | 'deblur';
export const CASE_KINDS: CaseKind[] = ['inpaint-box', 'inpaint-free', 'superres-x4', 'deblur'];

export interface TaskCase {
  kind: CaseKind;
  /** the request's task-specific part (image, mask, scale, sigma) */
  request: Pick<TaskRequest, 'task' | 'image' | 'mask' | 'scale' | 'downscaleKernel' | 'blurSigma'>;
  /** [N, H*W]: 1 where the pixel was unknown (inpainting) — for region metrics */
  unknown?: Float32Array;
}

export const SR_SCALE = 4;
export const BLUR_SIGMA = 1.5;

/** What each case is, in words, for the demo grid's row labels. */
export function caseTitle(kind: CaseKind): string {
  switch (kind) {
    case 'inpaint-box': return 'inpainting, box mask';
    case 'inpaint-free': return 'inpainting, free-form mask';
    case 'superres-x4': return `super-resolution x${SR_SCALE}`;
    case 'deblur': return `deblurring, sigma ${BLUR_SIGMA} px`;
  }
}

/**
 * Builds the observation of `kind` for a batch of ground-truth images gt [N, 3, S, S]; masks seeded by maskSeed + n.
 * `op`: the operator's strength where a study varies it (default SR_SCALE, BLUR_SIGMA: the quality bench's).
 */
export async function buildCase(ctx: GpuContext, kind: CaseKind, gt: ImageData4, maskSeed: number,
                                op: { scale?: number; blurSigma?: number } = {}): Promise<TaskCase> {
  const scale = op.scale ?? SR_SCALE, sigma = op.blurSigma ?? BLUR_SIGMA;
  const [N, C, S] = gt.shape;
  if (kind === 'inpaint-box' || kind === 'inpaint-free') {
    const mask = new Float32Array(N * S * S), unknown = new Float32Array(N * S * S);
    for (let n = 0; n < N; n++) {
      const m = kind === 'inpaint-box' ? boxMask(S, S, maskSeed + n) : freeFormMask(S, S, maskSeed + n);
      mask.set(m, n * S * S);
      for (let i = 0; i < S * S; i++) unknown[n * S * S + i] = 1 - m[i]!;
    }
    return { kind, request: { task: 'inpaint', image: gt, mask: { data: mask, shape: [N, 1, S, S] } }, unknown };
  }
  const A = kind === 'superres-x4' ? downscaleOperator(ctx, S, S, scale, 'bicubic') : blurOperator(ctx, S, S, sigma);
  const img = ctx.upload(gt.data, gt.shape);
  const obs = A.forward(ctx, img);
  const data = await ctx.read(obs);
  const shape = obs.shape as ImageData4['shape'];
  ctx.release(img, obs);
  A.destroy(ctx);
  void C;
  return kind === 'superres-x4'
    ? { kind, request: { task: 'superres', image: { data, shape }, scale, downscaleKernel: 'bicubic' } }
    : { kind, request: { task: 'deblur', image: { data, shape }, blurSigma: sigma } };
}
