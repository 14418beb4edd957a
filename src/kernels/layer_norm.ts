// LayerNorm over the last dim (torch.nn.LayerNorm, biased variance): transformer blocks, CLIP.
import type { GpuContext } from '../gpu/context.js';
import { defineKernel } from '../gpu/kernel.js';
import { check, GpuTensor, shapeStr } from '../gpu/tensor.js';
import { grid1d } from './grid.js';
import { wgsl } from './wgsl.gen.js';

export const layerNormKernel = defineKernel({ name: 'layer_norm', source: wgsl.layer_norm, overrides: { WG: 128 } });

/** x: [..., C], gamma/beta: [C] (dtype W) -> [..., C] (dtype of x) */
export function layerNorm(ctx: GpuContext, x: GpuTensor, gamma: GpuTensor, beta: GpuTensor, eps = 1e-5): GpuTensor {
  check(x.shape.length >= 1, 'layer_norm: x must have at least one dim');
  const C = x.shape[x.shape.length - 1];
  const rows = x.size / C;
  check(gamma.size === C && beta.size === C, `layer_norm: gamma ${shapeStr(gamma.shape)} / beta ${shapeStr(beta.shape)} must have C=${C} values`);
  check(gamma.dtype === beta.dtype, `layer_norm: gamma is ${gamma.dtype} but beta is ${beta.dtype}`);
  check(eps > 0, `layer_norm: eps must be > 0 (got ${eps})`);
  const y = ctx.alloc(x.shape, x.dtype);
  const g = grid1d(rows, 1); // one workgroup per row
  ctx.dispatch(layerNormKernel, { x, gamma, beta, y }, { rows, C, eps, row_stride: g.rowStride }, g.workgroups,
    { types: { T: x.dtype, W: gamma.dtype } });
  return y;
}
