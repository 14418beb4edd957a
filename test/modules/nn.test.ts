// src/nn modules against CPU references: loading by naming (shape checks, f16 bits uploaded as
// they are), Linear, Conv2d, GroupNorm(+SiLU), LayerNorm, Attention (self and cross), destroy,
// and loadModel freeing partial uploads.
import { beforeAll, describe, expect, test } from 'vitest';
import type { GpuContext } from '../../src/gpu/context.js';
import { attentionRef } from '../../src/kernels/reference/attention.js';
import { groupNormRef } from '../../src/kernels/reference/group_norm.js';
import { layerNormRef } from '../../src/kernels/reference/layer_norm.js';
import { setAutoTune } from '../../src/kernels/select_variant.js';
import { Attention } from '../../src/nn/attention.js';
import { Conv2d } from '../../src/nn/conv2d.js';
import { GroupNorm } from '../../src/nn/group_norm.js';
import { LayerNorm } from '../../src/nn/layer_norm.js';
import { Linear } from '../../src/nn/linear.js';
import { loadModel, loadParam, weightDtypeOf } from '../../src/nn/param.js';
import { bufferByteSource } from '../../src/weights/byte_source.js';
import { f16ArrayToF32, f32ArrayToF16 } from '../../src/weights/dtype.js';
import { openSafetensors } from '../../src/weights/safetensors.js';
import { encodeSafetensors, type TensorToWrite } from '../../src/weights/safetensors_write.js';
import { Weights } from '../../src/weights/weights.js';
import { gpuTest } from '../helpers/gpu.js';
import { expectClose, F16_TOL, F32_TOL, randn, roundF16 } from '../helpers/numeric.js';

// provisional kernel variants only: no background measurements competing with the tests
beforeAll(() => setAutoTune(false));

type HostTensors = Record<string, { shape: number[]; data: Float32Array; f16?: boolean }>;

async function weightsOf(ts: HostTensors): Promise<Weights> {
  const enc: Record<string, TensorToWrite> = {};
  for (const [k, t] of Object.entries(ts)) {
    enc[k] = t.f16 ? { dtype: 'F16', shape: t.shape, data: f32ArrayToF16(t.data) } : { dtype: 'F32', shape: t.shape, data: t.data };
  }
  return Weights.fromFiles([await openSafetensors(bufferByteSource(encodeSafetensors(enc), 'nn-test.safetensors'))]);
}

let seed = 100;
const rnd = (shape: number[], s = 1) => ({ shape, data: randn(shape.reduce((a, b) => a * b, 1), seed++, s) });

function linearRef(x: Float32Array, w: Float32Array, b: Float32Array | undefined, K: number, N: number): Float32Array {
  const M = x.length / K, y = new Float32Array(M * N);
  for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
    let s = b ? b[n]! : 0;
    for (let k = 0; k < K; k++) s += x[m * K + k]! * w[n * K + k]!;
    y[m * N + n] = s;
  }
  return y;
}

function conv2dRef(x: Float32Array, [N, C, H, W]: number[], w: Float32Array, b: Float32Array, O: number, k: number,
                   stride: number, pad: number): { y: Float32Array; shape: number[] } {
  const Ho = Math.floor((H! + 2 * pad - k) / stride) + 1, Wo = Math.floor((W! + 2 * pad - k) / stride) + 1;
  const y = new Float32Array(N! * O * Ho * Wo);
  for (let n = 0; n < N!; n++) for (let o = 0; o < O; o++) for (let i = 0; i < Ho; i++) for (let j = 0; j < Wo; j++) {
    let s = b[o]!;
    for (let c = 0; c < C!; c++) for (let u = 0; u < k; u++) for (let v = 0; v < k; v++) {
      const yy = i * stride + u - pad, xx = j * stride + v - pad;
      if (yy >= 0 && yy < H! && xx >= 0 && xx < W!) s += x[((n * C! + c) * H! + yy) * W! + xx]! * w[((o * C! + c) * k + u) * k + v]!;
    }
    y[((n * O + o) * Ho + i) * Wo + j] = s;
  }
  return { y, shape: [N!, O, Ho, Wo] };
}

async function run(ctx: GpuContext, data: Float32Array, shape: number[], fn: (x: ReturnType<GpuContext['upload']>) => ReturnType<GpuContext['upload']>) {
  const x = ctx.upload(data, shape);
  const y = fn(x);
  const out = await ctx.read(y);
  ctx.release(x, y);
  return { out, shape: y.shape };
}

describe('nn: loadParam', () => {
  gpuTest('F16 checkpoint bits reach an f16 buffer unchanged; F32 rounds to nearest even; f32 exact', async (ctx) => {
    if (!ctx.hasF16) return;
    const a = rnd([7, 5]), b = rnd([3]);
    a.data[0] = 6e-8; a.data[1] = -65504; // f16 subnormal and max
    const w = await weightsOf({ a: { ...a, f16: true }, b });
    const ta = await loadParam(ctx, w, 'a', [7, 5], { weightDtype: 'f16' });
    const tb = await loadParam(ctx, w, 'b', [-1], { weightDtype: 'f16' });
    const tb32 = await loadParam(ctx, w, 'b', [3], { weightDtype: 'f32' });
    expect([ta.dtype, tb.dtype, tb32.dtype]).toEqual(['f16', 'f16', 'f32']);
    expect(Array.from(await ctx.read(ta))).toEqual(Array.from(f16ArrayToF32(f32ArrayToF16(a.data))));
    expect(Array.from(await ctx.read(tb))).toEqual(Array.from(roundF16(b.data)));
    expect(Array.from(await ctx.read(tb32))).toEqual(Array.from(b.data));
    for (const t of [ta, tb, tb32]) ctx.destroy(t);
    w.assertAllConsumed();
  });

  gpuTest('weight dtype defaults to f16 with shader-f16; shape mismatch names the key', async (ctx) => {
    expect(weightDtypeOf(ctx)).toBe(ctx.hasF16 ? 'f16' : 'f32');
    expect(weightDtypeOf(ctx, { weightDtype: 'f32' })).toBe('f32');
    const w = await weightsOf({ 'conv.weight': rnd([4, 3, 3, 3]) });
    await expect(loadParam(ctx, w.at('conv'), 'weight', [4, 3, 1, 1])).rejects.toThrow(/conv\.weight.*\[4, 3, 3, 3\].*\[4, 3, 1, 1\]/);
  });
});

describe.each(['f32', 'f16'] as const)('nn modules, %s weights', (wdt) => {
  const tol = wdt === 'f32' ? F32_TOL : F16_TOL;
  const r = (a: Float32Array) => (wdt === 'f16' ? roundF16(a) : a);

  gpuTest('Linear: bias, no bias, bias auto, residual epilogue', async (ctx) => {
    if (wdt === 'f16' && !ctx.hasF16) return;
    const t = { 'p.weight': rnd([24, 40], 0.2), 'p.bias': rnd([24], 0.1), 'q.weight': rnd([24, 40], 0.2) };
    const w = await weightsOf(t);
    const p = await Linear.load(ctx, w.at('p'), 40, 24, { weightDtype: wdt });
    const q = await Linear.load(ctx, w.at('q'), 40, 24, { weightDtype: wdt, bias: 'auto' });
    expect(q.bias).toBeUndefined();
    w.assertAllConsumed();
    const x = randn(2 * 7 * 40, 1), res = randn(2 * 7 * 24, 2);
    const want = linearRef(x, r(t['p.weight'].data), r(t['p.bias'].data), 40, 24);
    const got = await run(ctx, x, [2, 7, 40], (xt) => p.forward(ctx, xt));
    expect(got.shape).toEqual([2, 7, 24]);
    expectClose(got.out, want, tol, 'Linear');
    const rt = ctx.upload(res, [2, 7, 24]);
    const got2 = await run(ctx, x, [2, 7, 40], (xt) => q.forward(ctx, xt, rt));
    expectClose(got2.out, linearRef(x, r(t['q.weight'].data), undefined, 40, 24).map((v, i) => v + res[i]!), tol, 'Linear+residual');
    ctx.release(rt);
    const before = ctx.residentBytes;
    p.destroy(ctx); q.destroy(ctx);
    expect(ctx.residentBytes).toBeLessThan(before);
  });

  gpuTest('Conv2d: 3x3 pad 1, 3x3 stride 2, 1x1 + residual', async (ctx) => {
    if (wdt === 'f16' && !ctx.hasF16) return;
    const t = { 'a.weight': rnd([8, 5, 3, 3], 0.2), 'a.bias': rnd([8], 0.1), 'b.weight': rnd([8, 5, 1, 1], 0.3), 'b.bias': rnd([8], 0.1) };
    const w = await weightsOf(t);
    const a = await Conv2d.load(ctx, w.at('a'), 5, 8, 3, { weightDtype: wdt, pad: 1 });
    const a2 = await Conv2d.load(ctx, w.at('a'), 5, 8, 3, { weightDtype: wdt, pad: 1, stride: 2 });
    const b = await Conv2d.load(ctx, w.at('b'), 5, 8, 1, { weightDtype: wdt });
    const xs = [2, 5, 9, 7], x = randn(2 * 5 * 9 * 7, 3);
    for (const [m, stride] of [[a, 1], [a2, 2]] as const) {
      const want = conv2dRef(x, xs, r(t['a.weight'].data), r(t['a.bias'].data), 8, 3, stride, 1);
      const got = await run(ctx, x, xs, (xt) => m.forward(ctx, xt));
      expect(got.shape).toEqual(want.shape);
      expectClose(got.out, want.y, tol, `Conv2d 3x3 stride ${stride}`);
    }
    const res = randn(2 * 8 * 9 * 7, 4), rt = ctx.upload(res, [2, 8, 9, 7]);
    const want = conv2dRef(x, xs, r(t['b.weight'].data), r(t['b.bias'].data), 8, 1, 1, 0).y.map((v, i) => v + res[i]!);
    expectClose((await run(ctx, x, xs, (xt) => b.forward(ctx, xt, rt))).out, want, tol, 'Conv2d 1x1 + residual');
    ctx.release(rt);
    for (const m of [a, a2, b]) m.destroy(ctx);
  });

  gpuTest('GroupNorm (+SiLU) and LayerNorm', async (ctx) => {
    if (wdt === 'f16' && !ctx.hasF16) return;
    const g = { 'gn.weight': { shape: [64], data: randn(64, 5, 0.25).map((v) => 1 + v) }, 'gn.bias': rnd([64], 0.1),
      'ln.weight': { shape: [48], data: randn(48, 6, 0.25).map((v) => 1 + v) }, 'ln.bias': rnd([48], 0.1) };
    const w = await weightsOf(g);
    const gn = await GroupNorm.load(ctx, w.at('gn'), 64, { weightDtype: wdt, groups: 32, eps: 1e-6 });
    const ln = await LayerNorm.load(ctx, w.at('ln'), 48, { weightDtype: wdt });
    const x = randn(2 * 64 * 5 * 3, 7);
    for (const silu of [false, true]) {
      const want = groupNormRef(x, [2, 64, 5, 3], r(g['gn.weight'].data), r(g['gn.bias'].data), 32, 1e-6, silu);
      expectClose((await run(ctx, x, [2, 64, 5, 3], (xt) => gn.forward(ctx, xt, silu))).out, want, tol, `GroupNorm silu=${silu}`);
    }
    const xl = randn(2 * 9 * 48, 8);
    expectClose((await run(ctx, xl, [2, 9, 48], (xt) => ln.forward(ctx, xt))).out,
      layerNormRef(xl, 48, r(g['ln.weight'].data), r(g['ln.bias'].data), 1e-5), tol, 'LayerNorm');
    gn.destroy(ctx); ln.destroy(ctx);
  });

  gpuTest('Attention: self (no q/k/v bias) and cross (context dim differs, 77 tokens)', async (ctx) => {
    if (wdt === 'f16' && !ctx.hasF16) return;
    const C = 32, heads = 4, D = 8, Cc = 24, N = 19, M = 77, B = 2;
    const t = {
      'a.to_q.weight': rnd([C, C], 0.2), 'a.to_k.weight': rnd([C, C], 0.2), 'a.to_v.weight': rnd([C, C], 0.2),
      'a.to_out.0.weight': rnd([C, C], 0.2), 'a.to_out.0.bias': rnd([C], 0.1),
      'c.to_q.weight': rnd([C, C], 0.2), 'c.to_k.weight': rnd([C, Cc], 0.2), 'c.to_v.weight': rnd([C, Cc], 0.2),
      'c.to_out.0.weight': rnd([C, C], 0.2), 'c.to_out.0.bias': rnd([C], 0.1),
    };
    const w = await weightsOf(t);
    const self = await Attention.load(ctx, w.at('a'), C, { weightDtype: wdt, heads, dimHead: D });
    const cross = await Attention.load(ctx, w.at('c'), C, { weightDtype: wdt, heads, dimHead: D, crossAttentionDim: Cc });
    w.assertAllConsumed();
    const x = randn(B * N * C, 9), e = randn(B * M * Cc, 10);
    const ref = (p: 'a' | 'c', kv: Float32Array, Kc: number, Nk: number) => {
      const W = (k: string) => r(t[`${p}.${k}` as keyof typeof t].data);
      const q = linearRef(x, W('to_q.weight'), undefined, C, C);
      const k = linearRef(kv, W('to_k.weight'), undefined, Kc, C), v = linearRef(kv, W('to_v.weight'), undefined, Kc, C);
      const o = attentionRef(q, k, v, { B, Nq: N, Nk, heads, D });
      return linearRef(o, W('to_out.0.weight'), W('to_out.0.bias'), C, C);
    };
    expectClose((await run(ctx, x, [B, N, C], (xt) => self.forward(ctx, xt))).out, ref('a', x, C, N), tol, 'self-attention');
    const et = ctx.upload(e, [B, M, Cc]);
    expectClose((await run(ctx, x, [B, N, C], (xt) => cross.forward(ctx, xt, et))).out, ref('c', e, Cc, M), tol, 'cross-attention');
    ctx.release(et);
    self.destroy(ctx); cross.destroy(ctx);
  });
});

describe('nn: loadModel', () => {
  gpuTest('a missing key frees every upload and reports missing and unused keys', async (ctx) => {
    const w = await weightsOf({ 'l.weight': rnd([4, 4]), 'l.bias': rnd([4]), 'extra.weight': rnd([2]) });
    const before = ctx.residentBytes;
    const build = async (o: object) => {
      const [a, b] = await Promise.all([Linear.load(ctx, w.at('l'), 4, 4, o), Linear.load(ctx, w.at('m'), 4, 4, o)]);
      return { destroy: (c: GpuContext) => { a.destroy(c); b.destroy(c); } };
    };
    await expect(loadModel(ctx, w, { weightDtype: 'f32' }, build)).rejects.toThrow(/missing weight "m\.weight"[\s\S]*unused:[\s\S]*extra\.weight/);
    await new Promise((res) => setTimeout(res, 50)); // let in-flight reads finish and free themselves
    expect(ctx.residentBytes).toBe(before);
  });

  test('strict: unused keys fail after a successful build, and the model is destroyed', async () => {
    const w = await weightsOf({ 'x.weight': rnd([2]) });
    let destroyed = false;
    const fake = { destroy: () => { destroyed = true; } };
    await expect(loadModel(null as unknown as GpuContext, w, {}, async () => fake)).rejects.toThrow(/unused:[\s\S]*x\.weight/);
    expect(destroyed).toBe(true);
  });
});
