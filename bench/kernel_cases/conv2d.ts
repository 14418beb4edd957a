// Conv2d bench cases: SD 1.4 conv layers under every variant (and the 1x1 GEMM route), f32 and
// f16. On CPU adapters the spatial size is scaled down (the label says so); channels stay
// SD-sized. GFLOP/s = 2 * N*Ho*Wo * O * C*kh*kw / time: compare with the matmul row of the same
// GEMM size (1024x320x2880 for 320 channels at 32x32). GB/s counts x, w and y once.
import type { GpuContext } from '../../src/gpu/context.js';
import { DTYPE_BYTES, type DType } from '../../src/gpu/tensor.js';
import { conv2d, conv2dVariants, convGeometry, type Conv2dVariant } from '../../src/kernels/conv2d.js';
import { matmulVariants, type MatmulVariant } from '../../src/kernels/matmul.js';
import { Rng } from '../../src/util/rng.js';
import type { KernelBenchCase } from '../kernels.js';
import { CONV_GEMM_GROUP } from './matmul.js';

type Shape4 = [number, number, number, number];
interface ConvShape { x: Shape4; w: Shape4; stride: number; pad: number | Shape4; note: string; cpuX?: Shape4 }

export const SD_CONVS: ConvShape[] = [
  { x: [1, 320, 32, 32], w: [320, 320, 3, 3], stride: 1, pad: 1, note: 'resnet 3x3, 320 ch at 32x32 (GEMM 1024x320x2880)' },
  { x: [2, 320, 64, 64], w: [320, 320, 3, 3], stride: 1, pad: 1, note: 'resnet 3x3, 320 ch at 64x64, batch 2', cpuX: [1, 320, 32, 32] },
  { x: [2, 640, 32, 32], w: [640, 640, 3, 3], stride: 1, pad: 1, note: 'resnet 3x3, 640 ch at 32x32, batch 2', cpuX: [1, 640, 16, 16] },
  { x: [2, 1280, 8, 8], w: [1280, 1280, 3, 3], stride: 1, pad: 1, note: 'resnet 3x3, 1280 ch at 8x8, batch 2', cpuX: [1, 1280, 8, 8] },
  { x: [2, 320, 64, 64], w: [320, 320, 3, 3], stride: 2, pad: 1, note: 'downsampler s2, 64 -> 32', cpuX: [1, 320, 32, 32] },
  { x: [2, 640, 32, 32], w: [320, 640, 1, 1], stride: 1, pad: 0, note: '1x1 shortcut / proj_in', cpuX: [1, 640, 16, 16] },
];

function convCase(s: ConvShape, x: Shape4, variant: Conv2dVariant | 'gemm', dtype: DType, note: string, gemmVariant?: MatmulVariant): KernelBenchCase {
  const g = convGeometry(x, s.w, s.stride, s.pad);
  const M = g.N * g.Ho * g.Wo, K = g.C * g.KH * g.KW, e = DTYPE_BYTES[dtype];
  const xn = x.reduce((a, b) => a * b, 1), wn = s.w.reduce((a, b) => a * b, 1);
  const name = gemmVariant ? `gemm/${gemmVariant}` : variant;
  return {
    op: 'conv2d', variant: name, dtype, shape: `x[${x}] w[${s.w}] s${s.stride}`,
    // the 320-channel 3x3 conv at 32x32 is timed interleaved with the matmul of its GEMM size
    group: M * g.O * K === 1024 * 320 * 2880 && g.KH === 3 && dtype === 'f32' ? CONV_GEMM_GROUP : undefined,
    label: `x[${x}] w[${s.w}] s${s.stride} ${dtype} ${name} (${note})`,
    flops: 2 * M * g.O * K, bytes: (xn + wn + M * g.O) * e,
    prepare(ctx) {
      const rng = new Rng(4);
      const xt = ctx.upload(rng.normals(xn), x, dtype);
      const wt = ctx.upload(rng.normals(wn), s.w, dtype, true);
      return {
        run: () => ctx.release(conv2d(ctx, xt, wt, undefined, { stride: s.stride, pad: s.pad, variant, gemmVariant })),
        dispose: () => { ctx.release(xt); ctx.destroy(wt); },
      };
    },
  };
}

export function casesFor(ctx: GpuContext, opts: { full: boolean }): KernelBenchCase[] {
  const cpu = ctx.adapter.isFallbackAdapter && !opts.full;
  const out: KernelBenchCase[] = [];
  const seen = new Set<string>();
  for (const s of SD_CONVS) {
    const x = cpu && s.cpuX ? s.cpuX : s.x;
    const key = `${x}|${s.w}|${s.stride}|${s.pad}`;
    if (seen.has(key)) continue;  // a scaled-down shape that another row already covers
    seen.add(key);
    const note = x === s.x ? s.note : `${s.note}; x [${s.x}] -> [${x}]`;
    for (const v of conv2dVariants(ctx, convGeometry(x, s.w, s.stride, s.pad))) out.push(convCase(s, x, v, 'f32', note));
    if (s.w[2] === 1 && s.w[3] === 1) for (const v of matmulVariants(ctx)) out.push(convCase(s, x, 'gemm', 'f32', note, v));
  }
  if (ctx.hasF16) for (const v of conv2dVariants(ctx)) out.push(convCase(SD_CONVS[0]!, SD_CONVS[0]!.x, v, 'f16', SD_CONVS[0]!.note));
  return out;
}
