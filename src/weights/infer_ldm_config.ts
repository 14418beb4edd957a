// The configuration of a CompVis/LDM single-file SD 1.x checkpoint, read off its tensor shapes
// (as stable-diffusion.cpp and diffusers' single-file loader do), so a file of any SD 1.x size
// loads without a config folder. Results are diffusers config.json objects, which the usual
// parsers (unet/config.ts, vae/config.ts, text/clip_text_config.ts) then validate.
//
// Shapes tell every size. They cannot tell the number of attention heads, the norm groups, the
// VAE scaling factor, the sample size or the noise schedule: those come from the LDM yaml when one
// is given (ldm_yaml.ts), else from SD 1.x's defaults, and `assumed` lists which were defaulted.
// Sizes a yaml states are checked against the shapes, naming the yaml field and the tensor.
import { LDM_PREFIX, type LdmLayout } from './keymap_ldm.js';
import type { LdmOriginalConfig } from './ldm_yaml.js';

type Json = Record<string, unknown>;

/** Reads dimensions of named tensors; every failure names the file and the tensor. */
class Shapes {
  constructor(readonly name: string, private readonly shapes: ReadonlyMap<string, readonly number[]>) {}

  has(key: string): boolean { return this.shapes.has(key); }

  rank(key: string): number { return this.shapes.get(key)?.length ?? -1; }

  /** dims of `key`, which must have `rank` dimensions. */
  dims(key: string, rank: number, what: string): readonly number[] {
    const s = this.shapes.get(key);
    if (!s) throw new Error(`${this.name}: tensor ${key} is missing; it gives the ${what}`);
    if (s.length !== rank) throw new Error(`${this.name}: tensor ${key} has shape [${s.join(', ')}], expected ${rank} dimensions (${what})`);
    return s;
  }

  /** Largest N among keys matching `re` (group 1 = N), or -1. */
  maxIndex(re: RegExp): number {
    let m = -1;
    for (const k of this.shapes.keys()) {
      const r = re.exec(k);
      if (r) m = Math.max(m, Number(r[1]));
    }
    return m;
  }

  keys(re: RegExp): string[] { return [...this.shapes.keys()].filter((k) => re.test(k)); }

  inconsistent(key: string, got: number | string, want: number | string, other: string, what: string): Error {
    return new Error(`${this.name}: tensor ${key} implies ${what} ${got}, but ${other} implies ${want}; ` +
      'the checkpoint\'s shapes are inconsistent (damaged, or not an SD 1.x model)');
  }
}

export interface InferredConfigs {
  unet?: Json;
  vae?: Json;
  text_encoder?: Json;
  /** Fields taken from SD 1.x defaults because neither the shapes nor a yaml give them. */
  assumed: string[];
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Checks a yaml-stated value against the one the shapes give. */
function crossCheck(orig: LdmOriginalConfig | undefined, field: string, stated: unknown, inferred: unknown, tensor: string, file: string): void {
  if (!orig || stated === undefined) return;
  if (JSON.stringify(stated) === JSON.stringify(inferred)) return;
  throw new Error(`${orig.name}: ${field} is ${JSON.stringify(stated)}, but ${file} has ${JSON.stringify(inferred)} ` +
    `(from tensor ${tensor}): this config does not belong to this checkpoint`);
}

function inferUnet(s: Shapes, layout: LdmLayout, orig: LdmOriginalConfig | undefined, assumed: string[]): Json {
  const P = LDM_PREFIX.unet;
  const convIn = `${P}input_blocks.0.0.weight`;
  const [mc, inCh] = s.dims(convIn, 4, 'UNet input width and channels');
  const lpb = layout.unet.layersPerBlock, per = lpb + 1;
  const lastIn = s.maxIndex(new RegExp(`^${esc(P)}input_blocks\\.(\\d+)\\.`));
  if ((lastIn + 1) % per !== 0) {
    throw new Error(`${s.name}: ${P}input_blocks.* run to index ${lastIn}, which does not fit ${lpb} resnets per block ` +
      `(read from the first downsampler, ${P}input_blocks.${per}.0.op); the checkpoint is damaged or not SD 1.x`);
  }
  const levels = (lastIn + 1) / per;
  const boc: number[] = [], downAttn: boolean[] = [];
  for (let i = 0; i < levels; i++) {
    const first = `${P}input_blocks.${1 + i * per}`;
    for (let j = 0; j < lpb; j++) {
      const blk = `${P}input_blocks.${1 + i * per + j}`;
      const w = `${blk}.0.out_layers.3.weight`;
      const width = s.dims(w, 4, `width of UNet down block ${i}`)[0]!;
      if (j === 0) boc.push(width);
      else if (width !== boc[i]) throw s.inconsistent(w, width, boc[i]!, `${first}.0.out_layers.3.weight`, `down block ${i} width`);
      const attn = s.has(`${blk}.1.proj_in.weight`);
      if (j === 0) downAttn.push(attn);
      else if (attn !== downAttn[i]) throw s.inconsistent(`${blk}.1.proj_in.weight`, attn ? 'present' : 'absent', downAttn[i] ? 'present' : 'absent', `${first}.1.proj_in.weight`, 'attention');
    }
  }
  if (boc[0] !== mc) throw s.inconsistent(`${P}input_blocks.1.0.out_layers.3.weight`, boc[0]!, mc!, convIn, 'UNet base width');
  const upAttn = layout.unet.upBlockHasAttention;
  if (upAttn.length !== levels) {
    throw new Error(`${s.name}: ${P}output_blocks.* make ${upAttn.length} up blocks but ${P}input_blocks.* make ${levels} down blocks`);
  }
  // Cross-attention width = attn2.to_k's input width; every transformer must agree.
  const toK = s.keys(new RegExp(`^${esc(P)}.*\\.attn2\\.to_k\\.weight$`));
  if (toK.length === 0) throw new Error(`${s.name}: no ${P}…attn2.to_k.weight tensors: this UNet has no cross-attention (not SD 1.x)`);
  const ctx = s.dims(toK[0]!, 2, 'cross-attention width')[1]!;
  for (const k of toK) {
    const c = s.dims(k, 2, 'cross-attention width')[1]!;
    if (c !== ctx) throw s.inconsistent(k, c, ctx, toK[0]!, 'cross-attention width');
  }
  // proj_in is a 1x1 conv in SD 1.x and a Linear in SD 2.x ("use_linear_in_transformer").
  const projIn = s.keys(new RegExp(`^${esc(P)}.*\\.proj_in\\.weight$`))[0];
  const linear = projIn !== undefined && s.rank(projIn) === 2;
  const depth = s.maxIndex(new RegExp(`^${esc(P)}.*\\.transformer_blocks\\.(\\d+)\\.`)) + 1;
  const outCh = s.dims(`${P}out.2.weight`, 4, 'UNet output channels')[0]!;

  // Heads: the yaml's num_heads (SD 1.x: 8, which diffusers' config calls attention_head_dim),
  // or num_head_channels (SD 2.x style: heads = width / head channels), else SD 1.x's 8.
  const u = orig?.unet ?? {};
  let heads: number | number[] = 8;
  if (u.num_head_channels !== undefined && u.num_head_channels > 0) heads = boc.map((c) => c / u.num_head_channels!);
  else if (u.num_heads !== undefined && u.num_heads > 0) heads = u.num_heads;
  else assumed.push('UNet attention heads (8)');
  if (orig?.imageSize === undefined) assumed.push('sample size (64 latents = 512 px)');

  const attnDown = `${P}input_blocks.1.1.proj_in.weight`;
  crossCheck(orig, 'unet_config.params.in_channels', u.in_channels, inCh, convIn, s.name);
  crossCheck(orig, 'unet_config.params.out_channels', u.out_channels, outCh, `${P}out.2.weight`, s.name);
  crossCheck(orig, 'unet_config.params.model_channels', u.model_channels, mc, convIn, s.name);
  crossCheck(orig, 'unet_config.params.num_res_blocks', u.num_res_blocks, lpb, `${P}input_blocks.${per}.0.op.weight`, s.name);
  if (u.model_channels !== undefined && u.channel_mult) {
    crossCheck(orig, 'unet_config.params.channel_mult', u.channel_mult.map((m) => m * u.model_channels!), boc,
      `${P}input_blocks.N.0.out_layers.3.weight`, s.name);
  }
  if (u.attention_resolutions) {
    // LDM puts attention at downsampling rates ds = 1, 2, 4, ... listed in attention_resolutions.
    crossCheck(orig, 'unet_config.params.attention_resolutions (as attention per down block)',
      downAttn.map((_, i) => u.attention_resolutions!.includes(2 ** i)), downAttn, attnDown, s.name);
  }
  crossCheck(orig, 'unet_config.params.context_dim', u.context_dim, ctx, toK[0]!, s.name);
  crossCheck(orig, 'unet_config.params.transformer_depth', u.transformer_depth, depth, `${P}…transformer_blocks.N`, s.name);

  return {
    in_channels: inCh, out_channels: outCh, block_out_channels: boc, layers_per_block: lpb,
    down_block_types: downAttn.map((a) => (a ? 'CrossAttnDownBlock2D' : 'DownBlock2D')),
    up_block_types: upAttn.map((a) => (a ? 'CrossAttnUpBlock2D' : 'UpBlock2D')),
    cross_attention_dim: ctx, attention_head_dim: heads, transformer_layers_per_block: depth,
    use_linear_projection: linear, // true is refused by the UNet config parser, by name
    // Not in the shapes; SD 1.x's values (the LDM UNet hard-codes them too).
    norm_num_groups: 32, norm_eps: 1e-5, flip_sin_to_cos: true, freq_shift: 0, downsample_padding: 1,
    sample_size: orig?.imageSize ?? 64,
  };
}

function inferVae(s: Shapes, layout: LdmLayout, orig: LdmOriginalConfig | undefined, imageSize: number, assumed: string[]): Json {
  const P = LDM_PREFIX.vae;
  const convIn = `${P}encoder.conv_in.weight`;
  const [ch, inCh] = s.dims(convIn, 4, 'VAE input width and channels');
  const levels = s.maxIndex(new RegExp(`^${esc(P)}encoder\\.down\\.(\\d+)\\.`)) + 1;
  if (levels !== layout.vaeUpBlocks) {
    throw new Error(`${s.name}: ${P}encoder.down.* has ${levels} blocks but ${P}decoder.up.* has ${layout.vaeUpBlocks}`);
  }
  const lpb = s.maxIndex(new RegExp(`^${esc(P)}encoder\\.down\\.0\\.block\\.(\\d+)\\.`)) + 1;
  const boc: number[] = [];
  for (let i = 0; i < levels; i++) {
    for (let j = 0; j < lpb; j++) {
      const w = `${P}encoder.down.${i}.block.${j}.conv2.weight`;
      const width = s.dims(w, 4, `width of VAE encoder block ${i}`)[0]!;
      if (j === 0) boc.push(width);
      else if (width !== boc[i]) throw s.inconsistent(w, width, boc[i]!, `${P}encoder.down.${i}.block.0.conv2.weight`, `VAE block ${i} width`);
    }
  }
  const latent = s.dims(`${P}decoder.conv_in.weight`, 4, 'VAE latent channels')[1]!;
  const moments = s.dims(`${P}encoder.conv_out.weight`, 4, 'VAE moments channels')[0]!;
  if (moments !== 2 * latent) {
    throw s.inconsistent(`${P}encoder.conv_out.weight`, moments / 2, latent, `${P}decoder.conv_in.weight`, 'latent channels');
  }
  const outCh = s.dims(`${P}decoder.conv_out.weight`, 4, 'VAE output channels')[0]!;
  const v = orig?.vae ?? {};
  if (orig?.scaleFactor === undefined) assumed.push('VAE scaling factor (0.18215)');
  crossCheck(orig, 'ddconfig.ch', v.ch, ch, convIn, s.name);
  if (v.ch !== undefined && v.ch_mult) crossCheck(orig, 'ddconfig.ch_mult', v.ch_mult.map((m) => m * v.ch!), boc, `${P}encoder.down.N.block.0.conv2.weight`, s.name);
  crossCheck(orig, 'ddconfig.num_res_blocks', v.num_res_blocks, lpb, `${P}encoder.down.0.block.N`, s.name);
  crossCheck(orig, 'ddconfig.z_channels', v.z_channels, latent, `${P}decoder.conv_in.weight`, s.name);
  crossCheck(orig, 'first_stage_config.params.embed_dim', v.embed_dim, latent, `${P}post_quant_conv.weight`, s.name);
  return {
    _class_name: 'AutoencoderKL', in_channels: inCh, out_channels: outCh, block_out_channels: boc, layers_per_block: lpb,
    latent_channels: latent, norm_num_groups: 32, scaling_factor: orig?.scaleFactor ?? 0.18215,
    sample_size: imageSize * 2 ** (levels - 1),
  };
}

function inferTextEncoder(s: Shapes, assumed: string[]): Json {
  // transformers < 4.? saved CLIPTextTransformer keys without the `text_model.` level.
  const base = s.has(`${LDM_PREFIX.text_encoder}text_model.embeddings.token_embedding.weight`)
    ? `${LDM_PREFIX.text_encoder}text_model.` : LDM_PREFIX.text_encoder;
  const [vocab, hidden] = s.dims(`${base}embeddings.token_embedding.weight`, 2, 'text encoder vocabulary and width');
  const maxPos = s.dims(`${base}embeddings.position_embedding.weight`, 2, 'text encoder positions')[0]!;
  const layers = s.maxIndex(new RegExp(`^${esc(base)}encoder\\.layers\\.(\\d+)\\.`)) + 1;
  const inter = s.dims(`${base}encoder.layers.0.mlp.fc1.weight`, 2, 'text encoder MLP width')[0]!;
  // Heads are not in the shapes. CLIP's own rule is width / 64 (OpenAI CLIP: heads = width // 64;
  // SD 1.x's ViT-L/14: 768 / 64 = 12). Widths that are not a multiple of 64 only occur in test-size
  // models, whose convention (transformers' and diffusers' tiny CLIPs: width 32, 4 heads) is 8-wide heads.
  const heads = hidden! % 64 === 0 ? hidden! / 64 : hidden! % 8 === 0 ? hidden! / 8 : 1;
  assumed.push(`text encoder heads (${heads}: CLIP's ${hidden! % 64 === 0 ? 'width / 64' : '8-wide heads for test-size widths'})`);
  return {
    vocab_size: vocab, hidden_size: hidden, intermediate_size: inter, num_hidden_layers: layers, num_attention_heads: heads,
    max_position_embeddings: maxPos, hidden_act: 'quick_gelu', layer_norm_eps: 1e-5, eos_token_id: 2,
  };
}

/** Configs for the requested components of a single file, from its tensor shapes (and a yaml). */
export function inferLdmConfigs(name: string, shapes: ReadonlyMap<string, readonly number[]>, layout: LdmLayout,
                                components: ReadonlySet<string>, orig?: LdmOriginalConfig): InferredConfigs {
  const s = new Shapes(name, shapes);
  const assumed: string[] = [];
  const out: InferredConfigs = { assumed };
  if (components.has('unet')) out.unet = inferUnet(s, layout, orig, assumed);
  if (components.has('vae')) out.vae = inferVae(s, layout, orig, orig?.imageSize ?? 64, assumed);
  if (components.has('text_encoder')) out.text_encoder = inferTextEncoder(s, assumed);
  if (!orig) assumed.push('noise schedule (SD 1.x: scaled_linear 0.00085..0.012, 1000 steps, epsilon)');
  return out;
}
