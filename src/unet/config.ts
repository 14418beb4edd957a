// UNet2DConditionModel config: the diffusers `unet/config.json` fields (snake_case, verbatim) that
// the SD 1.x path uses. Other flags are accepted only at the values SD 1.x has, so a config for a
// model this code does not implement (SD 2 linear projections, SDXL add-embeddings, ...) is
// rejected by name instead of silently running the wrong network.
// SD 1.4: https://huggingface.co/CompVis/stable-diffusion-v1-4/blob/main/unet/config.json

export type DownBlockType = 'CrossAttnDownBlock2D' | 'DownBlock2D';
export type UpBlockType = 'CrossAttnUpBlock2D' | 'UpBlock2D';

export interface UNet2DConditionConfig {
  in_channels: number;
  out_channels: number;
  center_input_sample: boolean;
  flip_sin_to_cos: boolean;
  freq_shift: number;
  down_block_types: DownBlockType[];
  up_block_types: UpBlockType[];
  block_out_channels: number[];
  layers_per_block: number;
  downsample_padding: number;
  norm_num_groups: number;
  norm_eps: number;
  cross_attention_dim: number;
  /** legacy SD 1.x spelling: the NUMBER of heads (diffusers: num_attention_heads ?? attention_head_dim) */
  attention_head_dim: number | number[];
  num_attention_heads?: number | number[] | null;
  transformer_layers_per_block?: number;
  sample_size?: number;
}

export const SD14_UNET: UNet2DConditionConfig = {
  in_channels: 4, out_channels: 4, center_input_sample: false, flip_sin_to_cos: true, freq_shift: 0,
  down_block_types: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
  up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
  block_out_channels: [320, 640, 1280, 1280], layers_per_block: 2, downsample_padding: 1,
  norm_num_groups: 32, norm_eps: 1e-5, cross_attention_dim: 768, attention_head_dim: 8, sample_size: 64,
};

/** Flags that must hold SD 1.x's value (null/absent also accepted). */
const FIXED: Record<string, unknown> = {
  act_fn: 'silu', mid_block_scale_factor: 1, resnet_out_scale_factor: 1, resnet_time_scale_shift: 'default',
  resnet_skip_time_act: false, use_linear_projection: false, only_cross_attention: false,
  dual_cross_attention: false, mid_block_type: 'UNetMidBlock2DCrossAttn', conv_in_kernel: 3, conv_out_kernel: 3,
  time_embedding_type: 'positional', attention_type: 'default', class_embed_type: null, addition_embed_type: null,
  encoder_hid_dim: null, encoder_hid_dim_type: null, time_cond_proj_dim: null, time_embedding_dim: null,
  time_embedding_act_fn: null, timestep_post_act: null, cross_attention_norm: null, num_class_embeds: null,
  projection_class_embeddings_input_dim: null, class_embeddings_concat: false, mid_block_only_cross_attention: null,
  reverse_transformer_layers_per_block: null, dropout: 0,
};

/** Parses a diffusers unet/config.json (object or JSON text), filling diffusers' defaults. */
export function parseUNetConfig(json: unknown): UNet2DConditionConfig {
  const c = (typeof json === 'string' ? JSON.parse(json) : json) as Record<string, unknown>;
  if (typeof c !== 'object' || c === null) throw new Error('unet config: not an object');
  const bad = (k: string, why: string): never => { throw new Error(`unet config: ${k}=${JSON.stringify(c[k])}: ${why}`); };
  for (const [k, want] of Object.entries(FIXED)) {
    const v = c[k];
    if (v === undefined || v === null || v === want) continue;
    if (typeof want === 'number' && v === want) continue;
    bad(k, `only ${JSON.stringify(want)} (the SD 1.x value) is implemented`);
  }
  if (c['upcast_attention'] !== undefined && typeof c['upcast_attention'] !== 'boolean') bad('upcast_attention', 'must be a boolean');
  const num = (k: string, d?: number): number => {
    const v = c[k] ?? d;
    if (typeof v !== 'number' || !Number.isFinite(v)) bad(k, 'must be a number');
    return v as number;
  };
  const arr = <T>(k: string, ok: (x: unknown) => boolean): T[] => {
    const v = c[k];
    if (!Array.isArray(v) || v.length === 0 || !v.every(ok)) bad(k, 'unexpected value');
    return v as T[];
  };
  const cfg: UNet2DConditionConfig = {
    in_channels: num('in_channels', 4),
    out_channels: num('out_channels', 4),
    center_input_sample: Boolean(c['center_input_sample'] ?? false),
    flip_sin_to_cos: Boolean(c['flip_sin_to_cos'] ?? true),
    freq_shift: num('freq_shift', 0),
    down_block_types: arr('down_block_types', (x) => x === 'CrossAttnDownBlock2D' || x === 'DownBlock2D'),
    up_block_types: arr('up_block_types', (x) => x === 'CrossAttnUpBlock2D' || x === 'UpBlock2D'),
    block_out_channels: arr('block_out_channels', (x) => Number.isInteger(x) && (x as number) > 0),
    layers_per_block: num('layers_per_block', 2),
    downsample_padding: num('downsample_padding', 1),
    norm_num_groups: num('norm_num_groups', 32),
    norm_eps: num('norm_eps', 1e-5),
    cross_attention_dim: num('cross_attention_dim', 1280),
    attention_head_dim: (c['attention_head_dim'] ?? 8) as number | number[],
    num_attention_heads: (c['num_attention_heads'] ?? null) as number | number[] | null,
    transformer_layers_per_block: num('transformer_layers_per_block', 1),
    sample_size: typeof c['sample_size'] === 'number' ? c['sample_size'] : undefined,
  };
  const n = cfg.block_out_channels.length;
  if (cfg.down_block_types.length !== n || cfg.up_block_types.length !== n) {
    bad('block_out_channels', `${n} blocks but ${cfg.down_block_types.length} down / ${cfg.up_block_types.length} up block types`);
  }
  for (const k of ['attention_head_dim', 'num_attention_heads'] as const) {
    const v = cfg[k];
    if (Array.isArray(v) && v.length !== n) bad(k, `needs ${n} entries`);
  }
  return cfg;
}

/** Heads of the transformers in block i (down-block order), diffusers' legacy rule. */
export function headsOf(cfg: UNet2DConditionConfig, i: number): number {
  const h = cfg.num_attention_heads ?? cfg.attention_head_dim;
  return Array.isArray(h) ? h[i]! : h;
}
