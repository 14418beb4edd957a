// Bilinear resize (align_corners=False, no antialiasing; torch's upsample_bilinear2d), the first
// step of the style path's CLIP preprocessing. The per-axis taps come from the CPU reference's
// bilinearTaps, so kernel and reference use the very same (torch-exact) weights.
import type { GpuContext } from '../gpu/context.js';
import { defineKernel } from '../gpu/kernel.js';
import { check, GpuTensor, shapeStr } from '../gpu/tensor.js';
import { grid1d } from './grid.js';
import { bilinearTaps } from './reference/bilinear_resize.js';
import { wgsl } from './wgsl.gen.js';

export const bilinearResizeKernel = defineKernel({ name: 'bilinear_resize', source: wgsl.bilinear_resize, overrides: { WG: 256 } });

/**
 * The tap table both resize kernels read (f32; layout in bilinear_resize*.wgsl): forward taps of
 * every output row and column, then the range of output rows/columns tapping each input row/column.
 */
export function bilinearTable(H: number, W: number, Ho: number, Wo: number): Float32Array {
  const ty = bilinearTaps(H, Ho), tx = bilinearTaps(W, Wo);
  const out = new Float32Array(4 * (Ho + Wo) + 2 * (H + W));
  const put = (t: ReturnType<typeof bilinearTaps>, at: number) => {
    for (let d = 0; d < t.i0.length; d++) out.set([t.i0[d], t.i1[d], t.l0[d], t.l1[d]], at + 4 * d);
  };
  put(ty, 0);
  put(tx, 4 * Ho);
  const ranges = (t: ReturnType<typeof bilinearTaps>, nIn: number, at: number) => {
    const lo = new Array<number>(nIn).fill(Infinity), hi = new Array<number>(nIn).fill(-1);
    for (let d = 0; d < t.i0.length; d++) for (const i of [t.i0[d], t.i1[d]]) { lo[i] = Math.min(lo[i], d); hi[i] = Math.max(hi[i], d); }
    for (let i = 0; i < nIn; i++) {
      out[at + 2 * i] = hi[i] < 0 ? 0 : lo[i];
      out[at + 2 * i + 1] = hi[i];                     // -1 (< first) when no output taps i
      // contiguity: every output between lo and hi taps i (source coordinates are monotone)
      for (let d = lo[i]; d <= hi[i]; d++) check(t.i0[d] === i || t.i1[d] === i, `bilinear taps of input ${i} are not contiguous`);
    }
  };
  ranges(ty, H, 4 * (Ho + Wo));
  ranges(tx, W, 4 * (Ho + Wo) + 2 * H);
  return out;
}

const tables = new WeakMap<GpuContext, Map<string, GpuTensor>>();

/** The tap table as a resident tensor, built once per size per context. */
export function bilinearTableTensor(ctx: GpuContext, H: number, W: number, Ho: number, Wo: number): GpuTensor {
  let m = tables.get(ctx);
  if (!m) tables.set(ctx, (m = new Map()));
  const key = `${H}x${W}->${Ho}x${Wo}`;
  let t = m.get(key);
  if (!t) {
    const data = bilinearTable(H, W, Ho, Wo);
    t = ctx.upload(data, [data.length], 'f32', true);
    m.set(key, t);
  }
  return t;
}

/** x: [N, C, H, W] -> [N, C, Ho, Wo] */
export function bilinearResize(ctx: GpuContext, x: GpuTensor, Ho: number, Wo: number): GpuTensor {
  check(x.shape.length === 4, `bilinear_resize: x must be [N, C, H, W], got ${shapeStr(x.shape)}`);
  check(Number.isInteger(Ho) && Number.isInteger(Wo) && Ho >= 1 && Wo >= 1, `bilinear_resize: output size ${Ho}x${Wo}`);
  const [N, C, H, W] = x.shape;
  const taps = bilinearTableTensor(ctx, H, W, Ho, Wo);
  const y = ctx.alloc([N, C, Ho, Wo], x.dtype);
  const g = grid1d(y.size, 256);
  ctx.dispatch(bilinearResizeKernel, { x, taps, y }, { planes: N * C, H, W, Ho, Wo, row_stride: g.rowStride }, g.workgroups,
    { types: { T: x.dtype, W: x.dtype } });
  return y;
}
