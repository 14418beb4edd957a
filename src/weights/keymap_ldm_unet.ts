// UNet key map between the CompVis/LDM `openaimodel.UNetModel` layout and diffusers'
// UNet2DConditionModel, as diffusers' convert_ldm_unet_checkpoint
// (src/diffusers/loaders/single_file_utils.py) and stable-diffusion.cpp's name table do.
// LDM numbers every layer sequentially: input_blocks.0 is conv_in, then each down block b holds
// `lpb` (layers_per_block) entries `input_blocks.(b*(lpb+1)+j+1)` with .0 = resnet and
// .1 = attention, followed by its downsampler `input_blocks.((b+1)*(lpb+1)).0.op`.
// output_blocks has lpb+1 entries per up block, the upsampler sits in the last one at `.1.conv`
// (block without attention) or `.2.conv` (block with attention).

// ResBlock (LDM) -> ResnetBlock2D (diffusers). in_layers/out_layers are Sequentials whose
// numeric indices skip the SiLU/Dropout slots.
const RESNET: ReadonlyArray<readonly [string, string]> = [
  ['in_layers.0.', 'norm1.'], ['in_layers.2.', 'conv1.'], ['emb_layers.1.', 'time_emb_proj.'],
  ['out_layers.0.', 'norm2.'], ['out_layers.3.', 'conv2.'], ['skip_connection.', 'conv_shortcut.'],
];

const TOP: ReadonlyArray<readonly [string, string]> = [
  ['time_embed.0.', 'time_embedding.linear_1.'], ['time_embed.2.', 'time_embedding.linear_2.'],
  ['label_emb.0.0.', 'class_embedding.linear_1.'], ['label_emb.0.2.', 'class_embedding.linear_2.'],
  ['input_blocks.0.0.', 'conv_in.'], ['out.0.', 'conv_norm_out.'], ['out.2.', 'conv_out.'],
];

function swapPrefix(key: string, table: ReadonlyArray<readonly [string, string]>, from: 0 | 1): string | null {
  for (const pair of table) if (key.startsWith(pair[from])) return pair[1 - from] + key.slice(pair[from].length);
  return null;
}

/** Layout facts the UNet map needs (diffusers config names in comments). */
export interface UnetLayout {
  /** layers_per_block (SD 1.x: 2). */
  readonly layersPerBlock: number;
  /** Per diffusers up block: is it a CrossAttnUpBlock2D? (SD 1.x: [false, true, true, true]). */
  readonly upBlockHasAttention: readonly boolean[];
}

/** LDM key (without `model.diffusion_model.`) -> diffusers key, or null if it is not a UNet key. */
export function unetLdmToDiffusers(key: string, layout: UnetLayout): string | null {
  const top = swapPrefix(key, TOP, 0);
  if (top !== null) return top;
  const per = layout.layersPerBlock + 1;
  let m = /^input_blocks\.(\d+)\.([01])\.(.+)$/.exec(key);
  if (m) {
    const k = Number(m[1]), rest = m[3]!;
    if (k === 0) return null; // conv_in is in TOP
    const b = Math.floor((k - 1) / per), j = (k - 1) % per;
    if (j === layout.layersPerBlock) {
      return m[2] === '0' && rest.startsWith('op.') ? `down_blocks.${b}.downsamplers.0.conv.${rest.slice(3)}` : null;
    }
    if (m[2] === '1') return `down_blocks.${b}.attentions.${j}.${rest}`;
    const r = swapPrefix(rest, RESNET, 0);
    return r === null ? null : `down_blocks.${b}.resnets.${j}.${r}`;
  }
  m = /^middle_block\.([012])\.(.+)$/.exec(key);
  if (m) {
    if (m[1] === '1') return `mid_block.attentions.0.${m[2]}`;
    const r = swapPrefix(m[2]!, RESNET, 0);
    return r === null ? null : `mid_block.resnets.${m[1] === '0' ? 0 : 1}.${r}`;
  }
  m = /^output_blocks\.(\d+)\.([012])\.(.+)$/.exec(key);
  if (m) {
    const k = Number(m[1]), rest = m[3]!;
    const b = Math.floor(k / per), j = k % per;
    if (rest.startsWith('conv.') && m[2] !== '0') {
      return j === layout.layersPerBlock ? `up_blocks.${b}.upsamplers.0.${rest}` : null;
    }
    if (m[2] === '1') return `up_blocks.${b}.attentions.${j}.${rest}`;
    if (m[2] === '2') return null;
    const r = swapPrefix(rest, RESNET, 0);
    return r === null ? null : `up_blocks.${b}.resnets.${j}.${r}`;
  }
  return null;
}

/** diffusers UNet key -> LDM key (without `model.diffusion_model.`), or null if unknown. */
export function unetDiffusersToLdm(key: string, layout: UnetLayout): string | null {
  const top = swapPrefix(key, TOP, 1);
  if (top !== null) return top;
  const lpb = layout.layersPerBlock, per = lpb + 1;
  let m = /^down_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.+)$/.exec(key);
  if (m) {
    const b = Number(m[1]), j = Number(m[3]), rest = m[4]!;
    if (j >= lpb) return null;
    const k = b * per + j + 1;
    if (m[2] === 'attentions') return `input_blocks.${k}.1.${rest}`;
    const r = swapPrefix(rest, RESNET, 1);
    return r === null ? null : `input_blocks.${k}.0.${r}`;
  }
  m = /^down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.+)$/.exec(key);
  if (m) return `input_blocks.${(Number(m[1]) + 1) * per}.0.op.${m[2]}`;
  m = /^mid_block\.(resnets|attentions)\.(\d+)\.(.+)$/.exec(key);
  if (m) {
    if (m[1] === 'attentions') return m[2] === '0' ? `middle_block.1.${m[3]}` : null;
    const r = swapPrefix(m[3]!, RESNET, 1);
    return r === null || Number(m[2]) > 1 ? null : `middle_block.${m[2] === '0' ? 0 : 2}.${r}`;
  }
  m = /^up_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.+)$/.exec(key);
  if (m) {
    const b = Number(m[1]), j = Number(m[3]), rest = m[4]!;
    if (j > lpb) return null;
    const k = b * per + j;
    if (m[2] === 'attentions') return `output_blocks.${k}.1.${rest}`;
    const r = swapPrefix(rest, RESNET, 1);
    return r === null ? null : `output_blocks.${k}.0.${r}`;
  }
  m = /^up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.+)$/.exec(key);
  if (m) {
    const b = Number(m[1]);
    const hasAttention = layout.upBlockHasAttention[b];
    if (hasAttention === undefined) return null;
    return `output_blocks.${b * per + lpb}.${hasAttention ? 2 : 1}.conv.${m[2]}`;
  }
  return null;
}
