// Nearest-neighbour upsampling (UNet Upsample2D, VAE decoder), bit-compatible with PyTorch.
import type { GpuContext } from '../gpu/context.js';
import { defineKernel } from '../gpu/kernel.js';
import { check, GpuTensor, shapeStr } from '../gpu/tensor.js';
import { grid1d } from './grid.js';
import { wgsl } from './wgsl.gen.js';

export const upsampleNearestKernel = defineKernel({ name: 'upsample_nearest', source: wgsl.upsample_nearest, overrides: { WG: 256 } });

/** x: [N, C, H, W] -> [N, C, outH, outW] (default 2x) */
export function upsampleNearest(ctx: GpuContext, x: GpuTensor, outH = 2 * x.shape[2], outW = 2 * x.shape[3]): GpuTensor {
  check(x.shape.length === 4, `upsample_nearest: x must be [N, C, H, W], got ${shapeStr(x.shape)}`);
  const [N, C, H, W] = x.shape;
  check(Number.isInteger(outH) && Number.isInteger(outW) && outH > 0 && outW > 0, `upsample_nearest: bad output size ${outH}x${outW}`);
  const y = ctx.alloc([N, C, outH, outW], x.dtype);
  const g = grid1d(y.size, 256);
  // PyTorch's scale: float(in) / out in float32 (compute_scales_value with no scale_factor)
  ctx.dispatch(upsampleNearestKernel, { x, y },
    { n: y.size, H, W, outH, outW, scale_h: Math.fround(H / outH), scale_w: Math.fround(W / outW), row_stride: g.rowStride },
    g.workgroups, { types: { T: x.dtype, W: x.dtype } });
  return y;
}
