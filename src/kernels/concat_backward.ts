// Input gradient of the UNet up path's channel concatenation (concat.ts, cat([h, skip], dim=1)):
// dy [N, Ca+Cb, H, W] splits back into da [N, Ca, H, W] and db [N, Cb, H, W]. Per sample, each
// part is one contiguous run, so this is 2N range copies through tensor_ops' copyElements (a
// buffer copy, or the copy_range kernel when an f16 run starts at a 2-byte offset). The batch
// concatenation concat0 / slice0 are each other's adjoints and need nothing new.
// Reference: src/kernels/reference/concat_backward.ts (checked against finite differences).
import type { GpuContext } from '../gpu/context.js';
import { check, GpuTensor, shapeStr } from '../gpu/tensor.js';
import { copyElements } from './tensor_ops.js';

/** dy: [N, Ca+Cb, H, W] -> [da [N, Ca, H, W], db [N, Cb, H, W]] */
export function splitChannels(ctx: GpuContext, dy: GpuTensor, Ca: number): [GpuTensor, GpuTensor] {
  check(dy.shape.length === 4, `concat_backward: dy must be [N, C, H, W], got ${shapeStr(dy.shape)}`);
  const [N, C, H, W] = dy.shape as [number, number, number, number];
  check(Number.isInteger(Ca) && Ca > 0 && Ca < C, `concat_backward: cannot split ${C} channels of dy at ${Ca}`);
  const HW = H * W, sa = Ca * HW, sb = (C - Ca) * HW;
  const da = ctx.alloc([N, Ca, H, W], dy.dtype), db = ctx.alloc([N, C - Ca, H, W], dy.dtype);
  for (let n = 0; n < N; n++) {
    copyElements(ctx, dy, da, n * (sa + sb), n * sa, sa);
    copyElements(ctx, dy, db, n * (sa + sb) + sa, n * sb, sb);
  }
  return [da, db];
}
