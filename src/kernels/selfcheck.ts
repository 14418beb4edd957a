// One representative case per kernel family against its CPU reference (used by `tether selfcheck`
// and the web page's diagnostics). The exhaustive per-kernel tests live in test/kernels.
import type { GpuContext } from '../gpu/context.js';
import type { DType, GpuTensor } from '../gpu/tensor.js';
import { f16BitsToF32, f32ToF16Bits } from '../gpu/half.js';
import { Rng } from '../util/rng.js';
import { attention } from './attention.js';
import { axisMatmul } from './axis_matmul.js';
import { conv2d } from './conv2d.js';
import { add, unary } from './elementwise.js';
import { groupNorm } from './group_norm.js';
import { layerNorm } from './layer_norm.js';
import { linear } from './matmul.js';
import { maxAbsPerSample } from './reduce.js';
import { attentionRef } from './reference/attention.js';
import { axisMatmulRef } from './reference/axis_matmul.js';
import { conv2dRef } from './reference/conv2d.js';
import { elementwiseRef } from './reference/elementwise.js';
import { groupNormRef } from './reference/group_norm.js';
import { layerNormRef } from './reference/layer_norm.js';
import { linearRef } from './reference/matmul.js';
import { maxAbsPerRowRef } from './reference/reduce.js';
import { timestepEmbeddingRef } from './reference/timestep_embedding.js';
import { transposeRef } from './reference/transpose.js';
import { upsampleNearestRef } from './reference/upsample_nearest.js';
import { timestepEmbedding } from './timestep_embedding.js';
import { transpose } from './transpose.js';
import { upsampleNearest } from './upsample_nearest.js';

export interface SelfcheckRow { name: string; dtype: DType; ok: boolean; relErr: number; ms: number }

interface Case {
  name: string;
  /** runs on the GPU and on the CPU with the same (dtype-rounded) inputs */
  run(ctx: GpuContext, dt: DType, inp: (n: number, seed: number) => Float32Array): { gpu: GpuTensor; want: Float32Array };
  f32Only?: boolean;
}

const CASES: Case[] = [
  { name: 'linear 77x320 <- 768 (+bias)', run(ctx, dt, inp) {
    const x = inp(77 * 768, 21), w = inp(320 * 768, 22), b = inp(320, 23);
    return { gpu: linear(ctx, ctx.upload(x, [77, 768], dt), ctx.upload(w, [320, 768], dt), ctx.upload(b, [320], dt)), want: linearRef(x, w, 77, 320, 768, b) };
  } },
  { name: 'conv2d 3x3 s1 64ch 17x13 (+bias)', run(ctx, dt, inp) {
    const x = inp(2 * 64 * 17 * 13, 24), w = inp(64 * 64 * 9, 25), b = inp(64, 26);
    const want = conv2dRef(x, [2, 64, 17, 13], w, [64, 64, 3, 3], { bias: b, stride: 1, pad: 1 }).y;
    return { gpu: conv2d(ctx, ctx.upload(x, [2, 64, 17, 13], dt), ctx.upload(w, [64, 64, 3, 3], dt), ctx.upload(b, [64], dt), { stride: 1, pad: 1 }), want };
  } },
  { name: 'conv2d 3x3 s2 VAE pad (0,1,0,1)', run(ctx, dt, inp) {
    const x = inp(32 * 16 * 16, 27), w = inp(32 * 32 * 9, 28);
    const want = conv2dRef(x, [1, 32, 16, 16], w, [32, 32, 3, 3], { stride: 2, pad: [0, 1, 0, 1] }).y;
    return { gpu: conv2d(ctx, ctx.upload(x, [1, 32, 16, 16], dt), ctx.upload(w, [32, 32, 3, 3], dt), undefined, { stride: 2, pad: [0, 1, 0, 1] }), want };
  } },
  { name: 'flash attention 256 tok, 8 heads x 40', run(ctx, dt, inp) {
    const q = inp(256 * 320, 29), k = inp(256 * 320, 30), v = inp(256 * 320, 31);
    return { gpu: attention(ctx, ctx.upload(q, [1, 256, 320], dt), ctx.upload(k, [1, 256, 320], dt), ctx.upload(v, [1, 256, 320], dt), { heads: 8 }),
      want: attentionRef(q, k, v, { B: 1, Nq: 256, Nk: 256, heads: 8, D: 40 }) };
  } },
  { name: 'attention, CLIP causal 77 tok', run(ctx, dt, inp) {
    const q = inp(77 * 64, 32), k = inp(77 * 64, 33), v = inp(77 * 64, 34);
    return { gpu: attention(ctx, ctx.upload(q, [1, 77, 64], dt), ctx.upload(k, [1, 77, 64], dt), ctx.upload(v, [1, 77, 64], dt), { heads: 4, causal: true }),
      want: attentionRef(q, k, v, { B: 1, Nq: 77, Nk: 77, heads: 4, D: 16 }, 0.25, true) };
  } },
  { name: 'elementwise add (broadcast)', run(ctx, dt, inp) {
    const a = inp(2 * 320 * 16 * 16, 1), b = inp(2 * 320, 2);
    return { gpu: add(ctx, ctx.upload(a, [2, 320, 16, 16], dt), ctx.upload(b, [2, 320], dt)), want: elementwiseRef('add', a, b, { div: 256, mod: 640 }) };
  } },
  { name: 'silu', run(ctx, dt, inp) {
    const a = inp(77 * 33, 3);
    return { gpu: unary(ctx, 'silu', ctx.upload(a, [77, 33], dt)), want: elementwiseRef('silu', a, a, { div: 1, mod: a.length }) };
  } },
  { name: 'group_norm + silu', run(ctx, dt, inp) {
    const shape = [2, 64, 13, 7], x = inp(2 * 64 * 91, 4), g = inp(64, 5), b = inp(64, 6);
    return { gpu: groupNorm(ctx, ctx.upload(x, shape, dt), ctx.upload(g, [64], dt), ctx.upload(b, [64], dt), { groups: 32, eps: 1e-5, silu: true }),
      want: groupNormRef(x, shape, g, b, 32, 1e-5, true) };
  } },
  { name: 'layer_norm', run(ctx, dt, inp) {
    const x = inp(77 * 96, 7), g = inp(96, 8), b = inp(96, 9);
    return { gpu: layerNorm(ctx, ctx.upload(x, [77, 96], dt), ctx.upload(g, [96], dt), ctx.upload(b, [96], dt), 1e-5), want: layerNormRef(x, 96, g, b, 1e-5) };
  } },
  { name: 'transpose', run(ctx, dt, inp) {
    const x = inp(2 * 37 * 19, 10);
    return { gpu: transpose(ctx, ctx.upload(x, [2, 37, 19], dt)), want: transposeRef(x, 2, 37, 19) };
  } },
  { name: 'upsample_nearest 7x5 -> 13x11', run(ctx, dt, inp) {
    const x = inp(3 * 35, 11);
    return { gpu: upsampleNearest(ctx, ctx.upload(x, [1, 3, 7, 5], dt), 13, 11), want: upsampleNearestRef(x, [1, 3, 7, 5], 13, 11) };
  } },
  { name: 'timestep_embedding (t up to 1000)', f32Only: true, run(ctx) {
    const t = Float32Array.from([1, 250, 981, 1000]);
    return { gpu: timestepEmbedding(ctx, ctx.upload(t, [4]), 320), want: timestepEmbeddingRef(t, 320) };
  } },
  { name: 'max|x| per sample', f32Only: true, run(ctx, _dt, inp) {
    const x = inp(3 * 4 * 9 * 9, 12);
    return { gpu: maxAbsPerSample(ctx, ctx.upload(x, [3, 4, 9, 9])), want: maxAbsPerRowRef(x, 3) };
  } },
  { name: 'axis_matmul (pixel operators)', run(ctx, dt, inp) {
    const x = inp(3 * 64 * 64, 13), m = inp(8 * 64, 14);
    return { gpu: axisMatmul(ctx, ctx.upload(x, [1, 3, 64, 64], dt), ctx.upload(m, [8, 64]), 3), want: axisMatmulRef(x, [1, 3, 64, 64], m, 8, 3) };
  } },
];

export async function runSelfcheck(ctx: GpuContext, opts: { f16: boolean }): Promise<SelfcheckRow[]> {
  const rows: SelfcheckRow[] = [];
  for (const dt of opts.f16 ? (['f32', 'f16'] as const) : (['f32'] as const)) {
    for (const c of CASES) {
      if (dt === 'f16' && c.f32Only) continue;
      const inp = (n: number, seed: number) => {
        const a = new Rng(seed).normals(n);
        return dt === 'f16' ? a.map((v) => f16BitsToF32(f32ToF16Bits(v))) : a;
      };
      const t0 = performance.now();
      let ok = false, relErr = Infinity;
      try {
        const { gpu, want } = c.run(ctx, dt, inp);
        const got = await ctx.read(gpu);
        ctx.release(gpu);
        let scale = 0, err = 0;
        for (let i = 0; i < want.length; i++) { scale = Math.max(scale, Math.abs(want[i])); err = Math.max(err, Math.abs(got[i] - want[i])); }
        relErr = got.length === want.length ? err / Math.max(scale, 1e-30) : Infinity;
        ok = relErr <= (dt === 'f32' ? 1e-4 : 5e-3);
      } catch {
        ok = false;
      }
      rows.push({ name: c.name, dtype: dt, ok, relErr, ms: performance.now() - t0 });
    }
  }
  return rows;
}
