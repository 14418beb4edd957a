// VAE key map between CompVis `ldm.modules.diffusionmodules.model.{Encoder,Decoder}` and
// diffusers' AutoencoderKL, as diffusers' convert_ldm_vae_checkpoint does.
// The LDM decoder numbers its up levels by resolution (up.0 is the full-resolution level, run
// last), diffusers numbers them in execution order, so decoder.up.i <-> up_blocks.(N-1-i).

const RESNET: ReadonlyArray<readonly [string, string]> = [
  ['norm1.', 'norm1.'], ['conv1.', 'conv1.'], ['norm2.', 'norm2.'], ['conv2.', 'conv2.'],
  ['nin_shortcut.', 'conv_shortcut.'],
];
const ATTENTION: ReadonlyArray<readonly [string, string]> = [
  ['norm.', 'group_norm.'], ['q.', 'to_q.'], ['k.', 'to_k.'], ['v.', 'to_v.'], ['proj_out.', 'to_out.0.'],
];
const SAME = ['encoder.conv_in.', 'encoder.conv_out.', 'decoder.conv_in.', 'decoder.conv_out.', 'quant_conv.', 'post_quant_conv.'];

function swap(key: string, table: ReadonlyArray<readonly [string, string]>, from: 0 | 1): string | null {
  for (const pair of table) if (key.startsWith(pair[from])) return pair[1 - from] + key.slice(pair[from].length);
  return null;
}

/** LDM key (without `first_stage_model.`) -> diffusers key, or null if it is not a VAE key. */
export function vaeLdmToDiffusers(key: string, upBlocks: number): string | null {
  if (SAME.some((p) => key.startsWith(p))) return key;
  let m = /^(encoder|decoder)\.norm_out\.(.+)$/.exec(key);
  if (m) return `${m[1]}.conv_norm_out.${m[2]}`;
  m = /^(encoder|decoder)\.mid\.(block_1|block_2|attn_1)\.(.+)$/.exec(key);
  if (m) {
    const r = swap(m[3]!, m[2] === 'attn_1' ? ATTENTION : RESNET, 0);
    const sub = m[2] === 'attn_1' ? 'attentions.0' : `resnets.${m[2] === 'block_1' ? 0 : 1}`;
    return r === null ? null : `${m[1]}.mid_block.${sub}.${r}`;
  }
  m = /^(encoder\.down|decoder\.up)\.(\d+)\.(.+)$/.exec(key);
  if (!m) return null;
  const enc = m[1] === 'encoder.down';
  const i = Number(m[2]);
  if (!enc && i >= upBlocks) return null;
  const prefix = enc ? `encoder.down_blocks.${i}` : `decoder.up_blocks.${upBlocks - 1 - i}`;
  const rest = m[3]!;
  const sampler = enc ? 'downsample.conv.' : 'upsample.conv.';
  if (rest.startsWith(sampler)) return `${prefix}.${enc ? 'down' : 'up'}samplers.0.conv.${rest.slice(sampler.length)}`;
  const b = /^block\.(\d+)\.(.+)$/.exec(rest);
  const r = b ? swap(b[2]!, RESNET, 0) : null;
  return r === null ? null : `${prefix}.resnets.${b![1]}.${r}`;
}

/** diffusers VAE key -> LDM key (without `first_stage_model.`), or null if unknown. */
export function vaeDiffusersToLdm(key: string, upBlocks: number): string | null {
  if (SAME.some((p) => key.startsWith(p))) return key;
  let m = /^(encoder|decoder)\.conv_norm_out\.(.+)$/.exec(key);
  if (m) return `${m[1]}.norm_out.${m[2]}`;
  m = /^(encoder|decoder)\.mid_block\.(resnets\.0|resnets\.1|attentions\.0)\.(.+)$/.exec(key);
  if (m) {
    const attn = m[2] === 'attentions.0';
    const r = swap(m[3]!, attn ? ATTENTION : RESNET, 1);
    return r === null ? null : `${m[1]}.mid.${attn ? 'attn_1' : m[2] === 'resnets.0' ? 'block_1' : 'block_2'}.${r}`;
  }
  m = /^(encoder\.down_blocks|decoder\.up_blocks)\.(\d+)\.(.+)$/.exec(key);
  if (!m) return null;
  const enc = m[1] === 'encoder.down_blocks';
  const i = Number(m[2]);
  if (!enc && i >= upBlocks) return null;
  const prefix = enc ? `encoder.down.${i}` : `decoder.up.${upBlocks - 1 - i}`;
  const rest = m[3]!;
  const sampler = enc ? 'downsamplers.0.conv.' : 'upsamplers.0.conv.';
  if (rest.startsWith(sampler)) return `${prefix}.${enc ? 'down' : 'up'}sample.conv.${rest.slice(sampler.length)}`;
  const b = /^resnets\.(\d+)\.(.+)$/.exec(rest);
  const r = b ? swap(b[2]!, RESNET, 1) : null;
  return r === null ? null : `${prefix}.block.${b![1]}.${r}`;
}
