// Several Linear layers that read the same input, run as ONE GEMM (issue 14's dispatch economy):
// the UNet's 22 resnet time_emb_proj layers all read SiLU(temb), and its 16 cross-attention
// to_k/to_v pairs all read the text context. Their weights are concatenated once, at load, into
// one [sum N, K] matrix (resident copies: the member Linears keep their own weights, which the
// VJP and the unfused (tapped) path still use; SD 1.4 f16: +160 MiB on 1639 MiB of weights). Member i's output is columns
// [offset(i), offset(i) + N_i) of rows of the bank's output [..., sum N].
//
// Results are cached by the input tensor's identity: a hit means "this exact GpuTensor object
// was projected before", and GpuContext.alloc makes a new object for every tensor, so a new
// prompt (or a pooled buffer reused for other contents) never hits. Contract: a tensor must not
// be overwritten in place while it is used as a bank input (no code does; inputs are produced
// once and read many times, as the sampler's kept text context). Entries are evicted LRU and
// freed with the model (destroy).
import type { GpuContext } from '../gpu/context.js';
import { check, DTYPE_BYTES, type GpuTensor } from '../gpu/tensor.js';
import { linear, type LnPrologue } from '../kernels/matmul.js';
import { residentTensor } from './chunked_ops.js';
import type { ParamArena } from './param.js';
import type { Linear } from './linear.js';

export interface BankSlice { t: GpuTensor; off: number; stride: number }

export class LinearBank {
  readonly offsets: number[] = [];
  readonly width: number;
  private readonly cache: { src: GpuTensor; y: GpuTensor }[] = [];

  private constructor(readonly weight: GpuTensor, readonly bias: GpuTensor | undefined,
                      readonly members: readonly Linear[], private readonly capacity: number) {
    let off = 0;
    for (const m of members) { this.offsets.push(off); off += m.outFeatures; }
    this.width = off;
  }

  /**
   * Concatenates the members' weights (and biases: all members have one, or none does) by buffer
   * copies. `capacity`: how many distinct inputs stay cached (the sampler alternates a few
   * context batches: cond alone, [uncond, cond], repeated for finite-difference pairs).
   */
  static build(ctx: GpuContext, members: readonly Linear[], capacity = 1, arena?: ParamArena): LinearBank {
    check(members.length > 0, 'LinearBank: no members');
    const K = members[0]!.inFeatures, dt = members[0]!.weight.dtype, hasBias = members[0]!.bias !== undefined;
    for (const m of members) {
      check(m.inFeatures === K && m.weight.dtype === dt && (m.bias !== undefined) === hasBias,
        `LinearBank: members differ (in ${m.inFeatures} vs ${K}, ${m.weight.dtype} vs ${dt}, bias ${m.bias !== undefined} vs ${hasBias})`);
    }
    const N = members.reduce((s, m) => s + m.outFeatures, 0), eb = DTYPE_BYTES[dt];
    // resident, like the weights they copy (counted in ctx.residentBytes, not the activation pool)
    // registered with the model load's arena (when given), so a load that fails elsewhere frees them too
    const own = (t: GpuTensor) => (arena ? arena.add(ctx, t) : t);
    const w = own(residentTensor(ctx, [N, K], dt, 'linear bank weight'));
    const b = hasBias ? own(residentTensor(ctx, [N], dt, 'linear bank bias')) : undefined;
    let row = 0;
    for (const m of members) {
      const wb = m.outFeatures * K * eb, wo = row * K * eb;
      check(wb % 4 === 0 && wo % 4 === 0, `LinearBank: weight block at ${wo} (+${wb} bytes) is not 4-byte aligned`);
      ctx.copy(m.weight, w, 0, wo, wb);
      if (b) {
        const bb = m.outFeatures * eb, bo = row * eb;
        check(bb % 4 === 0 && bo % 4 === 0, `LinearBank: bias block at ${bo} (+${bb} bytes) is not 4-byte aligned`);
        ctx.copy(m.bias!, b, 0, bo, bb);
      }
      row += m.outFeatures;
    }
    return new LinearBank(w, b, members, capacity);
  }

  /** x [..., K] -> [..., sum N], not cached (inputs that change every call: self-attention QKV). */
  forward(ctx: GpuContext, x: GpuTensor, ln?: LnPrologue): GpuTensor {
    return linear(ctx, x, this.weight, this.bias, { ln });
  }

  /** Member i's columns of the cached projection of `x`, if `x` (this object) was projected. */
  peek(x: GpuTensor, i: number): BankSlice | undefined {
    const hit = this.cache.find((e) => e.src === x);
    return hit && { t: hit.y, off: this.offsets[i]!, stride: this.width };
  }

  /** The projection of `x` [..., K] -> [..., sum N]: cached, else one GEMM (kept until evicted). */
  project(ctx: GpuContext, x: GpuTensor): GpuTensor {
    const at = this.cache.findIndex((e) => e.src === x);
    if (at >= 0) {
      const [e] = this.cache.splice(at, 1);
      this.cache.push(e!);
      return e!.y;
    }
    while (this.cache.length >= this.capacity) ctx.release(this.cache.shift()!.y);
    const y = ctx.keep(linear(ctx, x, this.weight, this.bias));
    this.cache.push({ src: x, y });
    return y;
  }

  /** Frees the cached projections (the weights stay). */
  clear(ctx: GpuContext): void {
    for (const e of this.cache.splice(0)) ctx.release(e.y);
  }

  destroy(ctx: GpuContext): void {
    this.clear(ctx);
    ctx.destroy(this.weight);
    if (this.bias) ctx.destroy(this.bias);
  }
}
