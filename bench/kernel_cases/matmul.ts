// Matmul bench cases: SD 1.4 linear shapes under every variant, the naive kernel included as the
// yardstick (same run), f32 and f16. On CPU adapters M is scaled down (the label says by how
// much); K and N stay SD-sized. GFLOP/s = 2MNK / time; GB/s counts x, w and y once.
// Also: selectedVariants() asks the selector which variant it measures fastest per class.
import type { GpuContext } from '../../src/gpu/context.js';
import { DTYPE_BYTES, type DType } from '../../src/gpu/tensor.js';
import { conv2dTuneRequest, convGeometry } from '../../src/kernels/conv2d.js';
import { linear, matmulTuneRequest, matmulVariants, type MatmulVariant } from '../../src/kernels/matmul.js';
import { tuneVariant } from '../../src/kernels/select_variant.js';
import { Rng } from '../../src/util/rng.js';
import type { KernelBenchCase } from '../kernels.js';

interface LinearShape { M: number; N: number; K: number; note: string; cpuM?: number }

/** SD 1.4 UNet linears at batch 2 (M = 2 x tokens), and the acceptance shape 1024x1280x320. */
export const SD_LINEARS: LinearShape[] = [
  { M: 1024, N: 1280, K: 320, note: 'acceptance shape (32x32 tokens, GEGLU-like)' },
  { M: 8192, N: 320, K: 320, note: 'attn1 q/k/v/out at 64x64, batch 2', cpuM: 1024 },
  { M: 8192, N: 2560, K: 320, note: 'GEGLU proj at 64x64, batch 2', cpuM: 256 },
  { M: 8192, N: 320, K: 1280, note: 'ff out at 64x64, batch 2', cpuM: 1024 },
  { M: 154, N: 320, K: 768, note: 'attn2 to_k/to_v from 77 CLIP tokens, batch 2' },
  { M: 128, N: 1280, K: 1280, note: '8x8 level projection, batch 2' },
  { M: 2, N: 1280, K: 1280, note: 'time embedding, batch 2' },
  { M: 1024, N: 320, K: 2880, note: 'GEMM size of a 3x3 320-ch conv at 32x32' },
];

/** The group of the conv rows with the same GEMM size, so that the two are timed interleaved. */
export const CONV_GEMM_GROUP = 'gemm 1024x320x2880 f32';

export function linearCase(M: number, N: number, K: number, variant: MatmulVariant, dtype: DType, note: string): KernelBenchCase {
  const e = DTYPE_BYTES[dtype];
  return {
    op: 'matmul', variant, dtype, shape: `${M}x${N}x${K}`,
    group: M === 1024 && N === 320 && K === 2880 && dtype === 'f32' ? CONV_GEMM_GROUP : undefined,
    label: `${M}x${N}x${K} ${dtype} ${variant} (${note})`,
    flops: 2 * M * N * K, bytes: (M * K + N * K + M * N) * e,
    prepare(ctx) {
      const rng = new Rng(3);
      const x = ctx.upload(rng.normals(M * K), [M, K], dtype);
      const w = ctx.upload(rng.normals(N * K), [N, K], dtype, true);
      return {
        run: () => ctx.release(linear(ctx, x, w, undefined, { variant })),
        dispose: () => { ctx.release(x); ctx.destroy(w); },
      };
    },
  };
}

export function casesFor(ctx: GpuContext, opts: { full: boolean }): KernelBenchCase[] {
  const cpu = ctx.adapter.isFallbackAdapter && !opts.full;
  const out: KernelBenchCase[] = [];
  for (const s of SD_LINEARS) {
    const M = cpu && s.cpuM ? s.cpuM : s.M;
    const note = M === s.M ? s.note : `${s.note}; M ${s.M} -> ${M} (x${(M / s.M).toFixed(3)})`;
    for (const v of matmulVariants(ctx)) out.push(linearCase(M, s.N, s.K, v, 'f32', note));
  }
  if (ctx.hasF16) {
    const s = SD_LINEARS[0]!;
    for (const v of matmulVariants(ctx)) out.push(linearCase(s.M, s.N, s.K, v, 'f16', s.note));
  }
  return out;
}

/** The variant the selector measures fastest for representative SD classes (f32). */
export async function selectedVariants(ctx: GpuContext): Promise<string[]> {
  const out: string[] = [];
  for (const s of [SD_LINEARS[0]!, SD_LINEARS[4]!, SD_LINEARS[6]!]) {
    const req = matmulTuneRequest(ctx, 'kk', s.M, s.N, s.K, { T: 'f32', W: 'f32' });
    out.push(`matmul ${req.shapeClass} (e.g. ${s.M}x${s.N}x${s.K}) -> ${await tuneVariant(ctx, req)}`);
  }
  for (const [x, w] of [[[2, 320, 32, 32], [320, 320, 3, 3]], [[1, 1280, 8, 8], [1280, 1280, 3, 3]]] as const) {
    const req = conv2dTuneRequest(ctx, convGeometry(x, w, 1, 1), { T: 'f32', W: 'f32' });
    out.push(`conv2d ${req.shapeClass} (e.g. x [${x}] w [${w}]) -> ${await tuneVariant(ctx, req)}`);
  }
  return out;
}
