// Infinity norms: max |x| over a whole tensor, or per batch sample (the constrained sampler
// normalises its directions by them). NaN anywhere in a row gives NaN for that row.
// Two dispatches: chunk maxima (rows x chunks workgroups), then one workgroup per row.
import type { GpuContext } from '../gpu/context.js';
import { defineKernel } from '../gpu/kernel.js';
import { check, GpuTensor, shapeStr } from '../gpu/tensor.js';
import { wgsl } from './wgsl.gen.js';

export const reduceMaxAbsKernel = defineKernel({ name: 'reduce_max_abs', source: wgsl.reduce_max_abs, overrides: { WG: 256 } });
export const reduceMaxAbsFinalKernel = defineKernel({ name: 'reduce_max_abs_final', source: wgsl.reduce_max_abs_final, overrides: { WG: 256 } });

/** values per workgroup in step 1: 16 per invocation */
const CHUNK = 4096;

function maxAbsRows(ctx: GpuContext, x: GpuTensor, rows: number, outShape: number[]): GpuTensor {
  const M = x.size / rows;
  const chunks = Math.ceil(M / CHUNK);
  const maxWg = ctx.limits.maxComputeWorkgroupsPerDimension;
  check(rows <= maxWg && chunks <= maxWg, `max_abs: ${rows} rows x ${chunks} chunks exceed the dispatch limit`);
  const types = { T: x.dtype, W: x.dtype };
  const part = ctx.alloc([rows, chunks], 'f32'); // holds u32 bit patterns
  const y = ctx.alloc(outShape, 'f32');
  ctx.dispatch(reduceMaxAbsKernel, { x, part }, { M, chunk: CHUNK, chunks }, [chunks, rows], { types });
  ctx.dispatch(reduceMaxAbsFinalKernel, { part, y }, { chunks }, [rows]); // no T: u32 in, f32 out
  ctx.release(part);
  return y;
}

/** x: any shape -> [1] f32 = max |x| (NaN if any element is NaN); exact for f16 and f32 inputs */
export function maxAbs(ctx: GpuContext, x: GpuTensor): GpuTensor {
  return maxAbsRows(ctx, x, 1, [1]);
}

/** x: [N, ...] -> [N] f32 = max |x[n]| per sample (NaN for a sample holding a NaN); the s of axpbyScaled */
export function maxAbsPerSample(ctx: GpuContext, x: GpuTensor): GpuTensor {
  check(x.shape.length >= 1, `max_abs_per_sample: x must have a batch dim, got ${shapeStr(x.shape)}`);
  return maxAbsRows(ctx, x, x.shape[0], [x.shape[0]]);
}
