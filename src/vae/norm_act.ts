// conv_act(conv_norm_out(x)) = silu(GroupNorm(x)) on channel chunks, SiLU fused into the norm.
// When a tap listens, the goldens want both the pre-SiLU norm output (`conv_norm_out`) and the
// activation (`conv_act`): the norm then runs unfused and SiLU runs in place after it.
import type { GpuContext } from '../gpu/context.js';
import { unary } from '../kernels/elementwise.js';
import type { GroupNorm } from '../nn/group_norm.js';
import type { Tap } from '../nn/tap.js';
import { ChannelChunks } from './channel_chunks.js';
import { groupNormChunks } from './chunked_ops.js';

export function normActChunks(ctx: GpuContext, norm: GroupNorm, x: ChannelChunks, tap?: Tap): ChannelChunks {
  if (!tap) return ctx.within('conv_norm_out', () => groupNormChunks(ctx, norm, x, true));
  const n = ctx.within('conv_norm_out', () => groupNormChunks(ctx, norm, x, false));
  tap('conv_norm_out', n);
  const y = new ChannelChunks(n.parts.map((p) => unary(ctx, 'silu', p, p)));
  tap('conv_act', y);
  return y;
}
