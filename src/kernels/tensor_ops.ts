// Dim-0 slicing and stacking (batch split / merge for classifier-free guidance) by buffer copies,
// and fill. copyBufferToBuffer needs 4-byte aligned offsets and sizes: f16 tensors whose rows
// hold an odd number of values fall back to the copy_range kernel.
import type { GpuContext } from '../gpu/context.js';
import { defineKernel } from '../gpu/kernel.js';
import { check, DTYPE_BYTES, GpuTensor, numel, shapeStr, type DType } from '../gpu/tensor.js';
import { grid1d } from './grid.js';
import { wgsl } from './wgsl.gen.js';

export const fillKernel = defineKernel({ name: 'fill', source: wgsl.fill, overrides: { WG: 256 } });
export const copyRangeKernel = defineKernel({ name: 'copy_range', source: wgsl.copy_range, overrides: { WG: 256 } });

/** Copies n elements src[srcOff..] -> dst[dstOff..] (offsets in elements). */
export function copyElements(ctx: GpuContext, src: GpuTensor, dst: GpuTensor, srcOff: number, dstOff: number, n: number): void {
  const b = DTYPE_BYTES[src.dtype];
  if ((srcOff * b) % 4 === 0 && (dstOff * b) % 4 === 0 && (n * b) % 4 === 0) {
    ctx.copy(src, dst, srcOff * b, dstOff * b, n * b);
    return;
  }
  const g = grid1d(n, 256);
  ctx.dispatch(copyRangeKernel, { x: src, y: dst }, { n, src_offset: srcOff, dst_offset: dstOff, row_stride: g.rowStride },
    g.workgroups, { types: { T: src.dtype, W: src.dtype } });
}

/** x: [B, ...] -> [count, ...] = x[start : start + count] */
export function slice0(ctx: GpuContext, x: GpuTensor, start: number, count: number): GpuTensor {
  check(x.shape.length >= 1, 'slice0: x must have a dim 0');
  const B = x.shape[0];
  check(Number.isInteger(start) && Number.isInteger(count) && start >= 0 && count > 0 && start + count <= B,
    `slice0: rows [${start}, ${start + count}) outside ${shapeStr(x.shape)}`);
  const row = x.size / B;
  const y = ctx.alloc([count, ...x.shape.slice(1)], x.dtype);
  copyElements(ctx, x, y, start * row, 0, count * row);
  return y;
}

/** [B_i, ...rest] for each input -> [sum B_i, ...rest] (torch.cat(dim=0)) */
export function concat0(ctx: GpuContext, xs: readonly GpuTensor[]): GpuTensor {
  check(xs.length > 0, 'concat0: no inputs');
  const rest = xs[0].shape.slice(1);
  for (const x of xs) {
    check(x.dtype === xs[0].dtype, `concat0: dtypes differ (${x.dtype} vs ${xs[0].dtype})`);
    check(x.shape.length === rest.length + 1 && x.shape.slice(1).every((d, i) => d === rest[i]),
      `concat0: ${shapeStr(x.shape)} does not match [*, ${rest.join(', ')}]`);
  }
  const y = ctx.alloc([xs.reduce((s, x) => s + x.shape[0], 0), ...rest], xs[0].dtype);
  let off = 0;
  for (const x of xs) { copyElements(ctx, x, y, 0, off, x.size); off += x.size; }
  return y;
}

/** A new tensor of `shape` with every element = value (rounded to dtype). */
export function fill(ctx: GpuContext, shape: readonly number[], value: number, dtype: DType = 'f32'): GpuTensor {
  const n = numel(shape);
  const y = ctx.alloc(shape, dtype);
  const g = grid1d(n, 256);
  ctx.dispatch(fillKernel, { y }, { n, value, row_stride: g.rowStride }, g.workgroups, { types: { T: dtype, W: dtype } });
  return y;
}
