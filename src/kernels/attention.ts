// Flash attention (tiled over keys, online softmax): never materialises the Nq x Nk scores.
// Two algorithm files: attention_rows.wgsl (register-blocked rows, vec4 heads up to D = 160:
// every UNet and CLIP head of SD 1.4) and attention_wide.wgsl (any D, one row per invocation:
// odd or very wide heads). The VAE's single 512-wide head goes through materialised score blocks
// instead (src/vae/unet_mid_block_2d.ts), which is faster there.
import type { GpuContext } from '../gpu/context.js';
import { defineKernel } from '../gpu/kernel.js';
import { check, GpuTensor, shapeStr } from '../gpu/tensor.js';
import { wgsl } from './wgsl.gen.js';

export const attentionRowsKernel = defineKernel({ name: 'attention_rows', source: wgsl.attention_rows, overrides: { WG: 64, R: 2, D4: 10, KB: 8 } });
export const attentionWideKernel = defineKernel({ name: 'attention_wide', source: wgsl.attention_wide, overrides: { WG: 64 } });

export interface AttentionOptions { heads: number; scale?: number; causal?: boolean }

/** q: [B, Nq, heads*D], k, v: [B, Nk, heads*D] -> [B, Nq, heads*D] */
export function attention(ctx: GpuContext, q: GpuTensor, k: GpuTensor, v: GpuTensor, opts: AttentionOptions): GpuTensor {
  const [B, Nq, C] = q.shape as [number, number, number];
  const [Bk, Nk, Ck] = k.shape as [number, number, number];
  const { heads } = opts;
  check(q.shape.length === 3 && k.shape.length === 3 && v.shape.length === 3, `attention: q, k, v must be [B, N, C] (got ${shapeStr(q.shape)}, ${shapeStr(k.shape)}, ${shapeStr(v.shape)})`);
  check(Bk === B && Ck === C && v.shape[0] === B && v.shape[1] === Nk && v.shape[2] === C,
    `attention: k ${shapeStr(k.shape)} / v ${shapeStr(v.shape)} do not match q ${shapeStr(q.shape)}`);
  check(Number.isInteger(heads) && heads >= 1 && C % heads === 0, `attention: ${C} channels not divisible into ${heads} heads`);
  check(q.dtype === k.dtype && k.dtype === v.dtype, 'attention: q, k, v dtypes differ');
  check(B * heads <= ctx.limits.maxComputeWorkgroupsPerDimension, `attention: batch x heads = ${B * heads} too large`);
  const D = C / heads;
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const o = ctx.alloc(q.shape, q.dtype);
  const types = { T: q.dtype, W: q.dtype };
  if (D % 4 === 0 && D <= 160) {
    const WG = 64, R = 2;
    ctx.dispatch(attentionRowsKernel, { q, k, v, o }, { Nq, Nk, heads, scale, causal: opts.causal ? 1 : 0 },
      [Math.ceil(Nq / (WG * R)), B * heads], { types, overrides: { WG, R, D4: D / 4, KB: 8 } });
  } else {
    ctx.dispatch(attentionWideKernel, { q, k, v, o }, { Nq, Nk, heads, D, scale, causal: opts.causal ? 1 : 0 },
      [Math.ceil(Nq / 64), B * heads], { types });
  }
  return o;
}
