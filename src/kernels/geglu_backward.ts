// Input gradient of GEGLU (geglu.ts), for the UNet transformer's feed-forward in the VJP: one
// elementwise pass over dy, recomputing gelu(g) from the saved projection x.
// Reference: src/kernels/reference/geglu_backward.ts (checked against finite differences).
import type { GpuContext } from '../gpu/context.js';
import { defineKernel } from '../gpu/kernel.js';
import { check, GpuTensor, shapeStr } from '../gpu/tensor.js';
import { grid1d } from './grid.js';
import { wgsl } from './wgsl.gen.js';

export const gegluBackwardKernel = defineKernel({ name: 'geglu_backward', source: wgsl.geglu_backward, overrides: { WG: 256 } });

/** x: [..., 2F] (the forward input), dy: [..., F] -> dx [..., 2F] */
export function gegluBackward(ctx: GpuContext, x: GpuTensor, dy: GpuTensor): GpuTensor {
  const last = x.shape[x.shape.length - 1];
  check(x.shape.length >= 1 && last % 2 === 0, `geglu_backward: last dim of x ${shapeStr(x.shape)} must be even`);
  const F = last / 2;
  const want = [...x.shape.slice(0, -1), F];
  check(dy.shape.length === want.length && dy.shape.every((d, i) => d === want[i]) && dy.dtype === x.dtype,
    `geglu_backward: dy ${shapeStr(dy.shape)} ${dy.dtype} must be ${shapeStr(want)} ${x.dtype}`);
  const dx = ctx.alloc(x.shape, x.dtype);
  const g = grid1d(dy.size, 256);
  ctx.dispatch(gegluBackwardKernel, { x, dy, dx }, { n: dy.size, F, row_stride: g.rowStride }, g.workgroups,
    { types: { T: x.dtype, W: x.dtype } });
  return dx;
}
