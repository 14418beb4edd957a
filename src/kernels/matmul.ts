// Matrix products: linear (x w^T + b, weights in checkpoint layout [out, in]), bmm for
// activation x activation products, and the strided GEMM both are made of (also used by 1x1
// convolutions). Four algorithm files, chosen per adapter by measurement (select_variant.ts):
//   naive    one output per invocation: the yardstick
//   tiled    workgroup-memory tiles, 4x4 per invocation: GPUs
//   regblock R x 4 register blocks, no workgroup memory: CPU adapters without subgroups
//   subgroup regblock + A shared by subgroupShuffle: CPU adapters (lavapipe's fastest)
import type { GpuContext } from '../gpu/context.js';
import { defineKernel } from '../gpu/kernel.js';
import { check, GpuTensor, shapeStr, type DType } from '../gpu/tensor.js';
import { Rng } from '../util/rng.js';
import { bucket, recordPlan, selectVariant, type DispatchPlan, type TuneRequest } from './select_variant.js';
import { wgsl } from './wgsl.gen.js';

export const matmulNaiveKernel = defineKernel({ name: 'matmul_naive', source: wgsl.matmul_naive, overrides: { WG_X: 16, WG_Y: 16 } });
export const matmulTiledKernel = defineKernel({ name: 'matmul_tiled', source: wgsl.matmul_tiled, overrides: { WG_X: 16, WG_Y: 16, BK: 16 } });
export const matmulRegblockKernel = defineKernel({ name: 'matmul_regblock', source: wgsl.matmul_regblock, overrides: { R: 4, WG: 64 } });
export const matmulSubgroupKernel = defineKernel({ name: 'matmul_subgroup', source: wgsl.matmul_subgroup, overrides: { R: 8, WG: 64 } });

export const MATMUL_VARIANTS = ['naive', 'tiled', 'regblock', 'subgroup'] as const;
export type MatmulVariant = (typeof MATMUL_VARIANTS)[number];

/**
 * A strided, batched GEMM: y[b, m, n] = alpha * sum_k A(b, m, k) B(b, k, n) (+ bias[n])
 * (+ residual[b, m, n]) (+ y when `accumulate`), with A(b, m, k) = a[aOff + b*aSb + m*aSm + k*aSk],
 * B(b, k, n) = b[bOff + b*bSb + n*bSn + k*bSk], y and residual at b*ySb + m*ySm + n*ySn (+ offsets).
 */
export interface Gemm {
  batch: number; M: number; N: number; K: number;
  a: GpuTensor; aSb: number; aSm: number; aSk: number; aOff?: number;
  b: GpuTensor; bSb: number; bSn: number; bSk: number; bOff?: number;
  y: GpuTensor; ySb: number; ySm: number; ySn: number; yOff?: number;
  bias?: GpuTensor; biasOff?: number;
  residual?: GpuTensor; rOff?: number;
  alpha?: number;
  accumulate?: boolean;
  /** GEGLU epilogue: y[.., n] = h * gelu(g), h from B column n, g from B column gate + n (N = outputs) */
  gate?: number;
  /** LayerNorm of every A row (unit k stride, K % 4 == 0) applied on load: (a - mean) * rstd * gamma + beta */
  ln?: LnPrologue;
  /** SiLU of (alpha * acc + bias), before residual / accumulate */
  silu?: boolean;
}

export interface LnPrologue { gamma: GpuTensor; beta: GpuTensor; eps: number }

export interface LinearOptions {
  /** [..., N], added in the epilogue */
  residual?: GpuTensor;
  /** force an algorithm (tests, benchmarks); default: measured per adapter and shape class */
  variant?: MatmulVariant;
  /** w is [2N, K] = [h; gate] rows and y = h * gelu(gate): [..., N] (diffusers GEGLU after its proj) */
  geglu?: boolean;
  /** LayerNorm x's rows first (the LayerNorm before a transformer block's GEMMs) */
  ln?: LnPrologue;
  /** SiLU of x w^T + bias (before the residual) */
  silu?: boolean;
}

export interface BmmOptions {
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  variant?: MatmulVariant;
}

const dummies = new WeakMap<GpuContext, GpuTensor>();
/** A 16-byte stand-in bound where bias / residual are absent (flags tell the shader to skip it). */
export function dummyTensor(ctx: GpuContext): GpuTensor {
  let t = dummies.get(ctx);
  if (!t) dummies.set(ctx, (t = ctx.upload(new Float32Array(4), [4], 'f32', true)));
  return t;
}

/** Variants that can run on this device. */
export function matmulVariants(ctx: GpuContext): MatmulVariant[] {
  return MATMUL_VARIANTS.filter((v) => v !== 'subgroup' || ctx.hasSubgroups);
}

/**
 * Invocations per workgroup of the register-blocked kernels (4 output columns each). Fixed per
 * adapter, so each variant and dtype pair compiles once (lavapipe compiles at the first dispatch,
 * seconds per kernel). A multiple of the largest subgroup size, so subgroups are always full.
 */
export function laneWorkgroup(ctx: GpuContext): number {
  const sg = ctx.adapter.subgroupMaxSize;
  return sg > 0 ? Math.min(Math.max(16, sg), ctx.limits.maxComputeInvocationsPerWorkgroup) : 64;
}

/**
 * laneWorkgroup(ctx) narrowed to what `n4` column groups (4 outputs each) need: the largest
 * subgroup size times a power of two, so subgroups stay full and there are at most two sizes
 * per adapter to compile. Each output's sum is the same whatever the workgroup size. On lavapipe
 * the embedded model's 32-channel layers (8 column groups) left half of a 16-wide workgroup
 * computing clamped duplicates, conv_out (O = 4) 15/16 of it.
 */
export function laneWorkgroupFor(ctx: GpuContext, n4: number): number {
  const wg = laneWorkgroup(ctx), sg = ctx.adapter.subgroupMaxSize;
  if (sg <= 0) return wg;
  let w = sg;
  while (w < wg && w < n4) w *= 2;
  return Math.min(w, wg);
}

/** Rows of operand X (elements off + b*sb + m*sm + k) readable as aligned 4-vectors. */
function vec4Rows(K: number, sk: number, sm: number, sb: number, off: number): boolean {
  return sk === 1 && K % 4 === 0 && sm % 4 === 0 && sb % 4 === 0 && off % 4 === 0;
}

/** The dispatch of one GEMM with one variant. */
export function gemmPlan(ctx: GpuContext, g: Gemm, variant: MatmulVariant): DispatchPlan {
  check(g.batch >= 1 && g.M >= 1 && g.N >= 1 && g.K >= 1, `matmul: empty problem ${g.batch}x${g.M}x${g.N}x${g.K}`);
  check(!g.bias || g.bias.dtype === g.b.dtype, `matmul: bias is ${g.bias?.dtype}, weights ${g.b.dtype}`);
  check(!g.residual || g.residual.dtype === g.y.dtype, `matmul: residual is ${g.residual?.dtype}, output ${g.y.dtype}`);
  check(g.y.dtype === g.a.dtype, `matmul: output ${g.y.dtype} != activations ${g.a.dtype}`);
  const dummy = dummyTensor(ctx);
  const params = {
    M: g.M, N: g.N, K: g.K,
    a_off: g.aOff ?? 0, a_sb: g.aSb, a_sm: g.aSm, a_sk: g.aSk,
    b_off: g.bOff ?? 0, b_sb: g.bSb, b_sn: g.bSn, b_sk: g.bSk,
    y_off: g.yOff ?? 0, y_sb: g.ySb, y_sm: g.ySm, y_sn: g.ySn,
    r_off: g.rOff ?? 0, bias_off: g.biasOff ?? 0, alpha: g.alpha ?? 1,
    flags: (g.bias ? 1 : 0) | (g.residual ? 2 : 0) | (g.accumulate ? 4 : 0) | (g.ln ? 8 : 0) | (g.gate !== undefined ? 16 : 0) | (g.silu ? 32 : 0),
    gate: g.gate ?? 0, ln_eps: g.ln?.eps ?? 0,
  };
  if (g.ln) {
    check(g.aSk === 1 && g.K % 4 === 0 && g.ln.gamma.size === g.K && g.ln.beta.size === g.K && g.ln.gamma.dtype === g.b.dtype &&
      g.ln.beta.dtype === g.b.dtype, `matmul: the LayerNorm prologue needs unit-stride A rows, K % 4 == 0 and [K] ${g.b.dtype} gamma/beta (K=${g.K})`);
  }
  const A4 = vec4Rows(g.K, g.aSk, g.aSm, g.aSb, g.aOff ?? 0), B4 = vec4Rows(g.K, g.bSk, g.bSn, g.bSb, g.bOff ?? 0);
  const bindings: Record<string, GpuTensor> = {
    a: g.a, b: g.b, bias: g.bias ?? dummy, residual: g.residual ?? dummy, y: g.y, ln_g: g.ln?.gamma ?? dummy, ln_b: g.ln?.beta ?? dummy,
  };
  const cols = g.gate !== undefined ? 2 : 4;  // output columns per invocation (GEGLU: 2 + their gates)
  const types = { T: g.a.dtype, W: g.b.dtype };
  const maxWg = ctx.limits.maxComputeWorkgroupsPerDimension;
  let kernel = matmulNaiveKernel, overrides: Record<string, number> = {}, wg: [number, number, number];
  if (variant === 'naive') {
    wg = [Math.ceil(g.N / 16), Math.ceil(g.M / 16), g.batch];
  } else if (variant === 'tiled') {
    kernel = matmulTiledKernel;
    wg = [Math.ceil(g.N / (16 * cols)), Math.ceil(g.M / 64), g.batch];
  } else {
    check(variant !== 'subgroup' || ctx.hasSubgroups, 'matmul: the subgroup variant needs the subgroups feature');
    kernel = variant === 'subgroup' ? matmulSubgroupKernel : matmulRegblockKernel;
    // Register blocks are sized for lavapipe's compile time as much as for speed: it compiles
    // at the first dispatch and every load expands to a per-lane loop, so a subgroup kernel with
    // 16 rows takes minutes to build. 4-vector rows get 8 rows, the scalar path (rare shapes) 4.
    const R = variant === 'subgroup' && A4 ? 8 : 4, WG = laneWorkgroupFor(ctx, Math.ceil(g.N / cols));
    overrides = { R, WG, A4: +A4, B4: +B4 };
    // an unused vector view gets the dummy (a tensor may be smaller than one 4-vector)
    bindings.a4 = A4 ? g.a : dummy;
    bindings.b4 = B4 ? g.b : dummy;
    const rows = Math.ceil(g.M / R);  // folded into y and z as the kernels expect
    wg = [Math.ceil(g.N / (cols * WG)), Math.min(rows, 65535), g.batch * Math.ceil(rows / 65535)];
  }
  check(wg.every((d) => d <= maxWg), `matmul: ${g.batch}x${g.M}x${g.N} needs ${wg} workgroups, over the limit ${maxWg}`);
  return { kernel, bindings, params, workgroups: wg, types, overrides };
}

const M_BOUNDS = [4, 32, 256], NK_BOUNDS = [64, 512, 2048];

/** Which dimension of each operand is contiguous: A 'k' (rows) or 'm' (NCHW pixels), B 'k' or 'n'. */
export type GemmLayout = 'kk' | 'kn' | 'mk' | 'mn';
export function gemmLayout(g: Gemm): GemmLayout {
  return `${g.aSk === 1 ? 'k' : 'm'}${g.bSk === 1 ? 'k' : 'n'}` as GemmLayout;
}

/** The shape class of a GEMM (its variant is measured once per class) and its proxy problem. */
export function matmulTuneRequest(ctx: GpuContext, layout: GemmLayout, M: number, N: number, K: number,
                                  types: { T: DType; W: DType }, fused: { geglu?: boolean; ln?: boolean } = {}): TuneRequest<MatmulVariant> {
  // fused epilogues/prologues change the per-output work, so they are classes of their own
  const mode = `${fused.ln ? '|ln' : ''}${fused.geglu ? '|geglu' : ''}`;
  const shapeClass = `${layout}|m${bucket(M, M_BOUNDS)}|n${bucket(N, NK_BOUNDS)}|k${bucket(K, NK_BOUNDS)}${K % 4 ? '|k%4' : ''}${mode}`;
  // A representative that costs milliseconds: capped rows and columns (larger on GPUs, where the
  // timer repeats it too), K keeping its remainder mod 4 (4-vector or scalar path).
  const cpu = ctx.adapter.isFallbackAdapter, cap = cpu ? 1 : 4;
  const Mp = Math.min(M, 256 * cap), Np = Math.min(N, 256 * cap), Kp = K <= 640 ? K : 640 + (K % 4);
  return {
    op: 'matmul', shapeClass, dtype: `${types.T}/${types.W}`, candidates: matmulVariants(ctx),
    proxy(c) {
      const rng = new Rng(1);
      const a = c.upload(rng.normals(Mp * Kp), [Mp, Kp], types.T);
      const rowsB = fused.geglu ? 2 * Np : Np;
      const b = c.upload(rng.normals(rowsB * Kp), [rowsB, Kp], types.W);
      const y = c.alloc([Mp, Np], types.T);
      const ln = fused.ln ? { gamma: c.upload(rng.normals(Kp), [Kp], types.W), beta: c.upload(rng.normals(Kp), [Kp], types.W), eps: 1e-5 } : undefined;
      const [aSm, aSk] = layout[0] === 'k' ? [Kp, 1] : [1, Mp];
      const [bSn, bSk] = layout[1] === 'k' ? [Kp, 1] : [1, Np];
      const g: Gemm = {
        batch: 1, M: Mp, N: Np, K: Kp, a, aSb: 0, aSm, aSk, b, bSb: 0, bSn: fused.geglu ? Kp : bSn, bSk: fused.geglu ? 1 : bSk,
        y, ySb: 0, ySm: Np, ySn: 1, gate: fused.geglu ? Np : undefined, ln,
      };
      return {
        label: `${layout} ${Mp}x${Np}x${Kp}${mode}`,
        plan: (v) => [gemmPlan(c, g, v)],
        dispose: () => c.release(a, b, y, ln?.gamma, ln?.beta),
      };
    },
  };
}

/** The provisional choice while a class is being measured: the usual winner per adapter kind. */
export function provisionalMatmul(ctx: GpuContext): MatmulVariant {
  if (!ctx.adapter.isFallbackAdapter) return 'tiled';
  return ctx.hasSubgroups ? 'subgroup' : 'regblock';
}

/** Records one GEMM with the forced, measured or provisional variant. */
export function gemm(ctx: GpuContext, g: Gemm, variant?: MatmulVariant): void {
  const v = variant ?? selectVariant(ctx, matmulTuneRequest(ctx, gemmLayout(g), g.M, g.N, g.K, { T: g.a.dtype, W: g.b.dtype },
    { geglu: g.gate !== undefined, ln: g.ln !== undefined }),
    provisionalMatmul(ctx));
  recordPlan(ctx, gemmPlan(ctx, g, v));
}

/** x: [..., K], w: [N, K], bias: [N], residual: [..., N] -> x w^T + bias + residual: [..., N] */
export function linear(ctx: GpuContext, x: GpuTensor, w: GpuTensor, bias?: GpuTensor, opts: LinearOptions = {}): GpuTensor {
  const K = x.shape[x.shape.length - 1]!;
  check(w.shape.length === 2 && w.shape[1] === K, `linear: x ${shapeStr(x.shape)} does not fit w ${shapeStr(w.shape)} ([N, K])`);
  check(!opts.geglu || w.shape[0]! % 2 === 0, `linear: GEGLU needs an even number of weight rows (${shapeStr(w.shape)})`);
  const N = opts.geglu ? w.shape[0]! / 2 : w.shape[0]!, M = x.size / K;
  const outShape = [...x.shape.slice(0, -1), N];
  check(!bias || (bias.size === w.shape[0]!), `linear: bias ${bias && shapeStr(bias.shape)} for ${w.shape[0]} weight rows`);
  check(!opts.residual || opts.residual.size === M * N, `linear: residual ${opts.residual && shapeStr(opts.residual.shape)} for output ${shapeStr(outShape)}`);
  const y = ctx.alloc(outShape, x.dtype);
  gemm(ctx, {
    batch: 1, M, N, K, a: x, aSb: 0, aSm: K, aSk: 1, b: w, bSb: 0, bSn: K, bSk: 1,
    y, ySb: 0, ySm: N, ySn: 1, bias, residual: opts.residual, gate: opts.geglu ? N : undefined, ln: opts.ln, silu: opts.silu,
  }, opts.variant);
  return y;
}

/** linear with the one-output-per-invocation kernel: the benchmark's yardstick. */
export function matmulNaive(ctx: GpuContext, x: GpuTensor, w: GpuTensor, bias?: GpuTensor): GpuTensor {
  return linear(ctx, x, w, bias, { variant: 'naive' });
}

/**
 * a: [B, M, K] ([B, K, M] with transA), b: [B, K, N] ([B, N, K] with transB) -> alpha * a b: [B, M, N].
 * Rank-2 operands are a batch of one. Both operands are activations (b's dtype may differ from a's).
 */
export function bmm(ctx: GpuContext, a: GpuTensor, b: GpuTensor, opts: BmmOptions = {}): GpuTensor {
  const { transA = false, transB = false } = opts;
  const as = a.shape.length === 2 ? [1, ...a.shape] : a.shape, bs = b.shape.length === 2 ? [1, ...b.shape] : b.shape;
  check(as.length === 3 && bs.length === 3, `bmm: operands must be rank 2 or 3 (${shapeStr(a.shape)}, ${shapeStr(b.shape)})`);
  const [B, a1, a2] = as as [number, number, number];
  const [Bb, b1, b2] = bs as [number, number, number];
  const [M, K] = transA ? [a2, a1] : [a1, a2];
  const [Kb, N] = transB ? [b2, b1] : [b1, b2];
  check(B === Bb && K === Kb, `bmm: ${shapeStr(a.shape)}${transA ? '^T' : ''} x ${shapeStr(b.shape)}${transB ? '^T' : ''} do not fit`);
  const y = ctx.alloc(a.shape.length === 2 && b.shape.length === 2 ? [M, N] : [B, M, N], a.dtype);
  // A(m, k) and B(k, n) through strides (transposes cost nothing but the layout class)
  gemm(ctx, {
    batch: B, M, N, K, alpha: opts.alpha,
    a, aSb: M * K, aSm: transA ? 1 : K, aSk: transA ? M : 1,
    b, bSb: K * N, bSn: transB ? K : 1, bSk: transB ? 1 : N,
    y, ySb: M * N, ySm: N, ySn: 1,
  }, opts.variant);
  return y;
}
