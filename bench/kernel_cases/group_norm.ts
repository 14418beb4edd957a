// GroupNorm bench cases: the SD shapes of test/cases/group_norm.ts under each algorithm (and a few
// split chunk sizes), reported as effective GB/s = (bytes of x read once + y written once) / time,
// the traffic of an ideal fused kernel. The kernels really read x three times (two-pass
// statistics, then normalise: 4 transfers instead of 2), so a memory-bound run shows about half
// of the device's bandwidth on this metric.
// lavapipe, 2 shared cores under load (wall clock, f32 [2,320,64,64] silu): scalar 164 ms,
// vec4 97 ms (default on CPU adapters), split 133 ms (default on GPUs; unmeasured on one).
//
// Case shape (KernelBenchCase) for bench/kernels.ts: `prepare` uploads inputs once and returns
// `run`, which records the op's dispatches (no sync), and `dispose`. The runner times `run` with
// timestamp queries (sum of the op's dispatches) or wall clock around ctx.sync().
import type { GpuContext } from '../../src/gpu/context.js';
import type { DType } from '../../src/gpu/tensor.js';
import { GROUP_NORM_CHUNK, groupNorm, groupNormAlgorithm, type GroupNormAlgorithm } from '../../src/kernels/group_norm.js';
import { Rng } from '../../src/util/rng.js';
import { GROUP_NORM_SD_CASES } from '../../test/cases/group_norm.js';

export interface KernelBenchCase {
  /** kernel family, e.g. 'group_norm' */
  op: string;
  /** one line: shape, options, variant */
  label: string;
  /** bytes an ideal implementation moves per run (for GB/s) */
  bytes: number;
  /** floating-point operations per run (for GFLOP/s; 0 when meaningless) */
  flops: number;
  prepare(ctx: GpuContext): { run(): void; dispose(): void };
}

const BYTES: Record<DType, number> = { f32: 4, f16: 2 };

function groupNormCase(shape: [number, number, number, number], groups: number, eps: number, silu: boolean,
                       dtype: DType, algorithm: GroupNormAlgorithm, chunk = GROUP_NORM_CHUNK): KernelBenchCase {
  const n = shape[0] * shape[1] * shape[2] * shape[3], C = shape[1];
  // the default on a hardware adapter (CPU adapters never default to split)
  const dflt = algorithm === groupNormAlgorithm(shape, groups, false) && chunk === GROUP_NORM_CHUNK;
  return {
    op: 'group_norm',
    label: `[${shape}] g=${groups}${silu ? ' silu' : ''} ${dtype} ${algorithm}${algorithm === 'split' ? ` chunk=${chunk}` : ''}${dflt ? ' (hw default)' : ''}`,
    bytes: 2 * n * BYTES[dtype] + 2 * C * BYTES[dtype],
    // ~ 3 adds/subs + 2 mul-adds per value (+ 4 for SiLU)
    flops: n * (silu ? 9 : 5),
    prepare(ctx) {
      const rng = new Rng(7);
      const x = ctx.upload(rng.normals(n), shape, dtype);
      const gamma = ctx.upload(new Float32Array(C).fill(1), [C], dtype, true);
      const beta = ctx.upload(new Float32Array(C), [C], dtype, true);
      return {
        run: () => ctx.release(groupNorm(ctx, x, gamma, beta, { groups, eps, silu, algorithm, chunk })),
        dispose: () => { ctx.release(x); ctx.destroy(gamma); ctx.destroy(beta); },
      };
    },
  };
}

export function groupNormBenchCases(dtypes: readonly DType[] = ['f32', 'f16']): KernelBenchCase[] {
  const out: KernelBenchCase[] = [];
  for (const dtype of dtypes) {
    for (const c of GROUP_NORM_SD_CASES) {
      for (const algorithm of ['scalar', 'vec4', 'split'] as const) out.push(groupNormCase(c.shape, c.groups, c.eps, c.silu, dtype, algorithm));
    }
  }
  // chunk size sweep on the largest UNet shape
  for (const chunk of [1024, 2048, 8192, 16384]) out.push(groupNormCase([2, 320, 64, 64], 32, 1e-5, true, 'f32', 'split', chunk));
  return out;
}

export const cases: KernelBenchCase[] = groupNormBenchCases();
