// Attention bench cases: SD 1.4 attention shapes (test/cases/attention.ts) under each algorithm
// valid on the adapter, f32 (and f16 for the yardstick shape). GFLOP/s counts 4*B*heads*Nq*Nk*D
// (QK^T and PV, 2 per multiply-add; the exps are not counted); GB/s counts q, k, v, o once.
// On CPU adapters the full-size cases (4096 tokens, the VAE's D=512 head) keep 1 of 8 heads or
// a quarter of the tokens (the label says so) unless --full; the tiled (GPU) kernel runs only the
// yardstick shape there, since it is the slow path on such adapters by design.
// Case shape (KernelBenchCase) and runner: bench/kernels.ts.
import type { GpuContext } from '../../src/gpu/context.js';
import { DTYPE_BYTES, type DType } from '../../src/gpu/tensor.js';
import { attention, attentionVariant, canUseSg, type AttentionVariant } from '../../src/kernels/attention.js';
import { Rng } from '../../src/util/rng.js';
import { ATTENTION_BENCH_CASES, attentionFlops, type AttentionCase } from '../../test/cases/attention.js';
import type { KernelBenchCase } from '../kernels.js';

export function attentionCase(c: AttentionCase, variant: AttentionVariant, dtype: DType, note = '', isDefault = false): KernelBenchCase {
  const C = c.heads * c.D;
  const shape = `B${c.B} ${c.Nq}x${c.Nk} ${c.heads}x${c.D}${c.causal ? ' causal' : ''}`;
  return {
    op: 'attention', variant, dtype, shape,
    label: `${shape} ${dtype} ${variant}${isDefault ? ' (default)' : ''} (${c.name}${note})`,
    flops: attentionFlops(c),
    bytes: (2 * c.B * c.Nq * C + 2 * c.B * c.Nk * C) * DTYPE_BYTES[dtype],
    prepare(ctx) {
      const rng = new Rng(11);
      const q = ctx.upload(rng.normals(c.B * c.Nq * C), [c.B, c.Nq, C], dtype);
      const k = ctx.upload(rng.normals(c.B * c.Nk * C), [c.B, c.Nk, C], dtype);
      const v = ctx.upload(rng.normals(c.B * c.Nk * C), [c.B, c.Nk, C], dtype);
      return {
        run: () => ctx.release(attention(ctx, q, k, v, { heads: c.heads, causal: c.causal, variant })),
        dispose: () => ctx.release(q, k, v),
      };
    },
  };
}

/** A CPU-sized version of a full-size case: 1 of 8 heads, or a quarter of the VAE's tokens. */
function cpuSized(c: AttentionCase): { c: AttentionCase; note: string } {
  if (c.Nq * c.Nk * c.heads * c.D <= 1024 * 1024 * 8 * 80) return { c, note: '' };
  if (c.heads > 1) return { c: { ...c, heads: 1 }, note: `; heads ${c.heads} -> 1` };
  return { c: { ...c, Nq: c.Nq / 4, Nk: c.Nk / 4 }, note: `; tokens ${c.Nq} -> ${c.Nq / 4}` };
}

export function casesFor(ctx: GpuContext, opts: { full: boolean }): KernelBenchCase[] {
  const cpu = ctx.adapter.isFallbackAdapter && !opts.full;
  const out: KernelBenchCase[] = [];
  ATTENTION_BENCH_CASES.forEach((full, i) => {
    const { c, note } = cpu ? cpuSized(full) : { c: full, note: '' };
    const dflt = attentionVariant(ctx, c.D);
    const variants: AttentionVariant[] = canUseSg(ctx, c.D) ? ['sg', 'tiled'] : ['tiled'];
    for (const v of variants) {
      if (cpu && v === 'tiled' && v !== dflt && i > 0) continue;
      out.push(attentionCase(c, v, 'f32', note, v === dflt));
    }
  });
  if (ctx.hasF16) {
    const c = ATTENTION_BENCH_CASES[0]!;
    out.push(attentionCase(c, attentionVariant(ctx, c.D), 'f16', '', true));
  }
  return out;
}
