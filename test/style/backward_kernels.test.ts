// Every kernel of the style path's explicit backward pass, on random inputs of awkward sizes:
//  1. the float64 CPU backward reference against central differences of the float64 CPU forward;
//  2. the GPU backward kernel against the reference, elementwise (f32 tolerances), and against
//     the same finite differences directly;
//  3. where the forward kernel is ours too, the GPU forward against its reference.
import { beforeAll, describe } from 'vitest';
import { attentionBackward } from '../../src/kernels/attention_backward.js';
import { attentionProbs, attentionPv } from '../../src/kernels/attention_probs.js';
import { bilinearResize } from '../../src/kernels/bilinear_resize.js';
import { bilinearResizeBackward } from '../../src/kernels/bilinear_resize_backward.js';
import { clipNormalize } from '../../src/kernels/clip_normalize.js';
import { clipNormalizeBackward } from '../../src/kernels/clip_normalize_backward.js';
import { frobeniusLoss } from '../../src/kernels/frobenius_loss.js';
import { frobeniusLossBackward } from '../../src/kernels/frobenius_loss_backward.js';
import { gram } from '../../src/kernels/gram.js';
import { gramBackward } from '../../src/kernels/gram_backward.js';
import { layerNormBackward } from '../../src/kernels/layer_norm_backward.js';
import { linearBackward } from '../../src/kernels/linear_backward.js';
import { matmulVariants } from '../../src/kernels/matmul.js';
import { patchEmbed } from '../../src/kernels/patch_embed.js';
import { patchEmbedBackward } from '../../src/kernels/patch_embed_backward.js';
import { quickGeluBackward } from '../../src/kernels/quick_gelu_backward.js';
import { setAutoTune } from '../../src/kernels/select_variant.js';
import { attentionBackwardRef } from '../../src/kernels/reference/attention_backward.js';
import { attentionProbsRef, attentionPvRef, type AttnDims } from '../../src/kernels/reference/attention_probs.js';
import { bilinearResizeRef } from '../../src/kernels/reference/bilinear_resize.js';
import { bilinearResizeBackwardRef } from '../../src/kernels/reference/bilinear_resize_backward.js';
import { clipNormalizeRef } from '../../src/kernels/reference/clip_normalize.js';
import { clipNormalizeBackwardRef } from '../../src/kernels/reference/clip_normalize_backward.js';
import { frobeniusLossRef } from '../../src/kernels/reference/frobenius_loss.js';
import { frobeniusLossBackwardRef } from '../../src/kernels/reference/frobenius_loss_backward.js';
import { gramRef } from '../../src/kernels/reference/gram.js';
import { gramBackwardRef } from '../../src/kernels/reference/gram_backward.js';
import { layerNormBackwardRef, layerNormRef64 } from '../../src/kernels/reference/layer_norm_backward.js';
import { linearBackwardRef, linearRef64 } from '../../src/kernels/reference/linear_backward.js';
import { patchEmbedRef } from '../../src/kernels/reference/patch_embed.js';
import { patchEmbedBackwardRef } from '../../src/kernels/reference/patch_embed_backward.js';
import { quickGeluBackwardRef, quickGeluRef64 } from '../../src/kernels/reference/quick_gelu_backward.js';
import { gpuTest } from '../helpers/gpu.js';
import { expectClose, F32_TOL, randn, randu } from '../helpers/numeric.js';
import { expectFd, fdError } from './fd.js';

beforeAll(() => setAutoTune(false));

const REF_TOL = 1e-8;  // float64 reference vs float64 finite differences
const GPU_TOL = 1e-5;  // float32 kernel vs float64 finite differences
const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073], CLIP_STD = [0.26862954, 0.26130258, 0.27577711];

/** The shared pattern: FD of the float64 forward checks the reference and the GPU gradient. */
function checkGrad(what: string, f: (x: Float64Array) => ArrayLike<number>, x: ArrayLike<number>, dy: ArrayLike<number>,
                   ref: ArrayLike<number>, gpu: ArrayLike<number>, seed: number, tol = F32_TOL): void {
  const fdRef = fdError(f, x, dy, ref, seed), fdGpu = fdError(f, x, dy, gpu, seed);
  console.log(`FD ${what}: reference ${fdRef.worst.toExponential(2)}, GPU ${fdGpu.worst.toExponential(2)} (worst of 3 directions, / |g||v|)`);
  expectFd(fdRef, REF_TOL, `${what} reference`);
  expectClose(gpu, ref, tol, `${what} GPU vs reference`);
  expectFd(fdGpu, GPU_TOL, `${what} GPU`);
}

describe('bilinear resize', () => {
  for (const [shape, Ho, Wo] of [[[1, 3, 128, 128], 64, 64], [[2, 3, 37, 29], 16, 20], [[1, 2, 5, 7], 11, 13], [[1, 1, 512, 40], 224, 17]] as const) {
    gpuTest(`[${shape}] -> ${Ho}x${Wo}`, async (ctx) => {
      const n = shape.reduce((a: number, b: number) => a * b, 1);
      const x = randu(n, 1), dy = randn(shape[0] * shape[1] * Ho * Wo, 2);
      const f = (v: Float64Array) => bilinearResizeRef(v, shape, Ho, Wo);
      expectClose(await ctx.read(bilinearResize(ctx, ctx.upload(x, shape), Ho, Wo)), f(Float64Array.from(x)), F32_TOL, 'forward');
      const gpu = await ctx.read(bilinearResizeBackward(ctx, ctx.upload(dy, [shape[0], shape[1], Ho, Wo]), shape[2], shape[3]));
      checkGrad('resize', f, x, dy, bilinearResizeBackwardRef(dy, shape, Ho, Wo), gpu, 3);
    });
  }
});

gpuTest('clip normalize [2, 3, 5, 6]', async (ctx) => {
  const shape = [2, 3, 5, 6], x = randu(180, 4), dy = randn(180, 5);
  const f = (v: Float64Array) => clipNormalizeRef(v, shape, CLIP_MEAN, CLIP_STD);
  expectClose(await ctx.read(clipNormalize(ctx, ctx.upload(x, shape))), f(Float64Array.from(x)), F32_TOL, 'forward');
  const gpu = await ctx.read(clipNormalizeBackward(ctx, ctx.upload(dy, shape)));
  checkGrad('normalize', f, x, dy, clipNormalizeBackwardRef(dy, shape, CLIP_STD), gpu, 6);
});

describe('patch embedding', () => {
  for (const d of [{ N: 2, C: 3, S: 32, p: 8, D: 20 }, { N: 1, C: 3, S: 48, p: 16, D: 24 }]) {
    gpuTest(`N=${d.N} S=${d.S} p=${d.p} D=${d.D}`, async (ctx) => {
      const T = (d.S / d.p) ** 2 + 1, K = d.C * d.p * d.p;
      const x = randn(d.N * d.C * d.S * d.S, 7), w = randn(d.D * K, 8, 0.05), cls = randn(d.D, 9), pos = randn(T * d.D, 10, 0.1);
      const dy = randn(d.N * T * d.D, 11);
      const f = (v: Float64Array) => patchEmbedRef(v, w, cls, pos, d);
      const wt = ctx.upload(w, [d.D, d.C, d.p, d.p]);
      const fwd = patchEmbed(ctx, ctx.upload(x, [d.N, d.C, d.S, d.S]), wt, ctx.upload(cls, [d.D]), ctx.upload(pos, [T, d.D]));
      expectClose(await ctx.read(fwd), f(Float64Array.from(x)), F32_TOL, 'forward');
      const gpu = await ctx.read(patchEmbedBackward(ctx, ctx.upload(dy, [d.N, T, d.D]), wt));
      checkGrad('patch_embed', f, x, dy, patchEmbedBackwardRef(dy, w, d), gpu, 12);
    });
  }
});

// linear_backward runs on matmul.ts's gemm with W read untransposed: every variant this adapter has
describe('linear backward (every matmul variant)', () => {
  for (const [M, K, Nout, withAcc] of [[37, 45, 29, false], [17, 64, 128, true], [5, 3, 200, true]] as const) {
    gpuTest(`M=${M} K=${K} out=${Nout} acc=${withAcc}`, async (ctx) => {
      const x = randn(M * K, 13), w = randn(Nout * K, 14, 0.2), b = randn(Nout, 15), dy = randn(M * Nout, 16);
      const acc = withAcc ? randn(M * K, 17) : null;
      const f = (v: Float64Array) => linearRef64(v, w, b, M, K, Nout);
      const ref = linearBackwardRef(dy, w, M, K, Nout, acc);
      // the FD of <dy, f> gives dy W only: take acc back out before comparing
      const noAcc = (g: ArrayLike<number>) => Float64Array.from(g, (a, i) => a - (acc ? acc[i] : 0));
      for (const variant of matmulVariants(ctx)) {
        const gpu = await ctx.read(linearBackward(ctx, ctx.upload(dy, [M, Nout]), ctx.upload(w, [Nout, K]),
          acc ? ctx.upload(acc, [M, K]) : undefined, variant));
        checkGrad(`linear (${variant})`, f, x, dy, noAcc(ref), noAcc(gpu), 18);
        expectClose(gpu, ref, F32_TOL, `linear with acc (${variant})`);
      }
    });
  }
});

describe('layer norm backward', () => {
  for (const [rows, C, withAcc] of [[7, 75, false], [17, 64, true], [3, 768, true]] as const) {
    gpuTest(`rows=${rows} C=${C} acc=${withAcc}`, async (ctx) => {
      const x = randn(rows * C, 19, 2), gamma = randn(C, 20), beta = randn(C, 21), dy = randn(rows * C, 22);
      for (let i = 0; i < x.length; i++) x[i] += 0.5; // a non-zero mean
      const acc = withAcc ? randn(rows * C, 23) : null;
      const f = (v: Float64Array) => layerNormRef64(v, C, gamma, beta, 1e-5);
      const gpu = await ctx.read(layerNormBackward(ctx, ctx.upload(x, [rows, C]), ctx.upload(dy, [rows, C]), ctx.upload(gamma, [C]), 1e-5,
        acc ? ctx.upload(acc, [rows, C]) : undefined));
      const ref = layerNormBackwardRef(x, dy, C, gamma, 1e-5, acc);
      const noAcc = (g: ArrayLike<number>) => Float64Array.from(g, (a, i) => a - (acc ? acc[i] : 0));
      checkGrad('layer_norm', f, x, dy, noAcc(ref), noAcc(gpu), 24);
      expectClose(gpu, ref, F32_TOL, 'layer_norm with acc');
    });
  }
});

gpuTest('quick_gelu backward [3, 1000] over [-12, 12]', async (ctx) => {
  const x = randu(3000, 25, -12, 12), dy = randn(3000, 26);
  const gpu = await ctx.read(quickGeluBackward(ctx, ctx.upload(x, [3, 1000]), ctx.upload(dy, [3, 1000])));
  checkGrad('quick_gelu', quickGeluRef64, x, dy, quickGeluBackwardRef(x, dy), gpu, 27);
});

describe('attention (materialised probabilities)', () => {
  for (const dims of [{ B: 2, Nq: 19, Nk: 19, heads: 3, D: 8 }, { B: 1, Nq: 197, Nk: 197, heads: 2, D: 16 }] as AttnDims[]) {
    gpuTest(`B=${dims.B} N=${dims.Nq} heads=${dims.heads} D=${dims.D}`, async (ctx) => {
      const { B, Nq: N, heads, D } = dims;
      const C = heads * D, n = B * N * C, scale = D ** -0.5, shape = [B, N, C];
      const q = randn(n, 28), k = randn(n, 29), v = randn(n, 30), dO = randn(n, 31);
      const [qt, kt, vt] = [q, k, v].map((a) => ctx.upload(a, shape));
      const P = attentionProbs(ctx, qt, kt, { heads, scale });
      const Pref = attentionProbsRef(q, k, dims, scale);
      expectClose(await ctx.read(P), Pref, F32_TOL, 'probs');
      expectClose(await ctx.read(attentionPv(ctx, P, vt)), attentionPvRef(Pref, v, dims), F32_TOL, 'pv');
      const g = attentionBackward(ctx, qt, kt, vt, P, ctx.upload(dO, shape), { scale });
      const ref = attentionBackwardRef(q, k, v, Pref, dO, dims, scale);
      const out = (qq: ArrayLike<number>, kk: ArrayLike<number>, vv: ArrayLike<number>) => attentionPvRef(attentionProbsRef(qq, kk, dims, scale), vv, dims);
      checkGrad('dq', (x) => out(x, k, v), q, dO, ref.dq, await ctx.read(g.dq), 32);
      checkGrad('dk', (x) => out(q, x, v), k, dO, ref.dk, await ctx.read(g.dk), 33);
      checkGrad('dv', (x) => out(q, k, x), v, dO, ref.dv, await ctx.read(g.dv), 34);
    });
  }
});

describe('gram', () => {
  for (const [N, T, D, skip] of [[2, 13, 37, 1], [1, 197, 48, 1], [1, 5, 16, 0]] as const) {
    gpuTest(`N=${N} T=${T} D=${D} skip=${skip}`, async (ctx) => {
      const f = randn(N * T * D, 35), dG = randn(N * D * D, 36);
      const fwd = (v: Float64Array) => gramRef(v, N, T, D, skip);
      const ft = ctx.upload(f, [N, T, D]);
      expectClose(await ctx.read(gram(ctx, ft, skip)), fwd(Float64Array.from(f)), F32_TOL, 'forward');
      const gpu = await ctx.read(gramBackward(ctx, ft, ctx.upload(dG, [N, D, D]), skip));
      checkGrad('gram', fwd, f, dG, gramBackwardRef(f, dG, N, T, D, skip), gpu, 37);
    });
  }
});

describe('frobenius loss', () => {
  for (const [N, M, shared] of [[2, 50, true], [3, 4096, false]] as const) {
    gpuTest(`N=${N} M=${M} shared ref=${shared}`, async (ctx) => {
      const g = randn(N * M, 38, 3), gRef = randn(shared ? M : N * M, 39, 3), dl = randn(N, 40);
      const fwd = (v: Float64Array) => frobeniusLossRef(v, gRef, N);
      const gt = ctx.upload(g, [N, M]), rt = ctx.upload(gRef, [shared ? 1 : N, M]);
      const L = frobeniusLoss(ctx, gt, rt);
      const Lref = fwd(Float64Array.from(g));
      expectClose(await ctx.read(L), Lref, { atol: 1e-6, rtol: 1e-6 }, 'loss');
      const gpu = await ctx.read(frobeniusLossBackward(ctx, gt, rt, L, ctx.upload(dl, [N])));
      checkGrad('frobenius', fwd, g, dl, frobeniusLossBackwardRef(g, gRef, Lref, dl, N), gpu, 41);
    });
  }
  gpuTest('L = 0 gives a zero gradient, not NaN', async (ctx) => {
    const g = randn(64, 42);
    const gt = ctx.upload(g, [1, 64]);
    const L = frobeniusLoss(ctx, gt, ctx.upload(g, [1, 64]));
    const dg = await ctx.read(frobeniusLossBackward(ctx, gt, ctx.upload(g, [1, 64]), L, ctx.upload(new Float32Array([1]), [1])));
    expectClose(await ctx.read(L), [0], { atol: 0, rtol: 0 }, 'L');
    expectClose(dg, new Float32Array(64), { atol: 0, rtol: 0 }, 'dG');
  });
});
