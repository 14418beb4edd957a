// Load-time weight concatenations that let one UNet forward record fewer dispatches (issue 14):
//   temb:    every resnet's time_emb_proj reads SiLU(temb): one GEMM for all 22 (SD 1.4), whose
//            output each resnet's conv1 reads in its epilogue (conv2d flag 8) instead of a
//            Linear plus a broadcast add per resnet.
//   crossKV: every cross-attention's to_k/to_v reads the text context: one GEMM for all 32 layers
//            (16 attn2), cached per context tensor, so K/V are computed once per prompt and not
//            on every sampler step; each attn2 reads its column slice in the attention kernel.
// The member modules keep their own weights (the tapped golden path and the VJP use them).
import type { GpuContext } from '../gpu/context.js';
import type { Attention } from '../nn/attention.js';
import type { ResnetBlock2D } from '../nn/resnet_block_2d.js';
import { LinearBank } from '../nn/linear_bank.js';

export interface UNetFusions {
  temb: LinearBank;
  crossKV?: LinearBank;
}

interface HasResnets {
  readonly resnets: readonly ResnetBlock2D[];
  readonly attentions?: readonly { readonly transformer_blocks: readonly { readonly attn2: Attention }[] }[];
}

/**
 * Distinct context tensors whose K/V stay cached: the sampler's batches (cond alone, [uncond,
 * cond], and their finite-difference repeats) alternate within one run.
 */
const CONTEXTS_CACHED = 4;

/** Builds the banks over the model's modules (in forward order) and points each module at its slice. */
export function buildFusions(ctx: GpuContext, blocks: readonly HasResnets[]): UNetFusions {
  const resnets = blocks.flatMap((b) => b.resnets);
  const temb = LinearBank.build(ctx, resnets.map((r) => r.time_emb_proj!));
  resnets.forEach((r, index) => { r.tembBank = { bank: temb, index }; });
  const attn2 = blocks.flatMap((b) => (b.attentions ?? []).flatMap((t) => t.transformer_blocks.map((tb) => tb.attn2)));
  if (attn2.length === 0) return { temb };
  const crossKV = LinearBank.build(ctx, attn2.flatMap((a) => [a.to_k, a.to_v]), CONTEXTS_CACHED);
  attn2.forEach((a, i) => { a.kvBank = { bank: crossKV, index: 2 * i }; });
  return { temb, crossKV };
}

export function destroyFusions(ctx: GpuContext, f: UNetFusions): void {
  f.temb.destroy(ctx);
  f.crossKV?.destroy(ctx);
}
