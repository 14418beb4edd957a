// conv_act(conv_norm_out(x)) = silu(GroupNorm(x)) on channel chunks, SiLU fused into the norm.
// When a tap listens, the goldens want both the pre-SiLU norm output (`conv_norm_out`) and the
// activation (`conv_act`).
import type { GpuContext } from '../gpu/context.js';
import type { ChannelChunks } from '../nn/channel_chunks.js';
import { normSiluChunks } from '../nn/chunked_ops.js';
import type { GroupNorm } from '../nn/group_norm.js';
import type { Tap } from '../nn/tap.js';

export function normActChunks(ctx: GpuContext, norm: GroupNorm, x: ChannelChunks, tap?: Tap): ChannelChunks {
  const y = normSiluChunks(ctx, norm, x, tap, 'conv_norm_out');
  tap?.('conv_act', y);
  return y;
}
