// AutoencoderKL configuration: the subset of diffusers' config.json that SD 1.x VAEs use.
// Hub file: https://huggingface.co/CompVis/stable-diffusion-v1-4/blob/main/vae/config.json
// Only DownEncoderBlock2D / UpDecoderBlock2D with SiLU, a mid-block attention and both quant
// convs are implemented; any other flag is rejected here rather than silently ignored.

export interface AutoencoderKLConfig {
  inChannels: number;
  outChannels: number;
  blockOutChannels: readonly number[];
  layersPerBlock: number;
  latentChannels: number;
  normNumGroups: number;
  /** latents = scaling_factor * sample from the encoder; the pipeline applies it, not the VAE */
  scalingFactor: number;
  sampleSize: number;
}

/** SD 1.4's VAE (sd14_configs/vae/config.json). */
export const SD14_VAE: AutoencoderKLConfig = {
  inChannels: 3, outChannels: 3, blockOutChannels: [128, 256, 512, 512], layersPerBlock: 2,
  latentChannels: 4, normNumGroups: 32, scalingFactor: 0.18215, sampleSize: 512,
};

/** GroupNorm eps of every VAE norm (diffusers hard-codes 1e-6 in Encoder/Decoder and their blocks). */
export const VAE_NORM_EPS = 1e-6;

type Json = Record<string, unknown>;

function num(j: Json, key: string, fallback?: number): number {
  const v = j[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`vae config.json: "${key}" must be a number (got ${JSON.stringify(j[key])})`);
  return v;
}

function positiveInt(j: Json, key: string, fallback?: number): number {
  const v = num(j, key, fallback);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`vae config.json: "${key}" must be a positive integer (got ${v})`);
  return v;
}

/** Parses and checks a diffusers AutoencoderKL config.json (text or parsed object). */
export function parseVaeConfig(src: string | Json, name = 'vae/config.json'): AutoencoderKLConfig {
  let j: Json;
  try {
    j = typeof src === 'string' ? (JSON.parse(src) as Json) : src;
  } catch (e) {
    throw new Error(`${name}: invalid JSON (${(e as Error).message})`);
  }
  if (typeof j !== 'object' || j === null) throw new Error(`${name}: not a JSON object`);
  const cls = j['_class_name'];
  if (cls !== undefined && cls !== 'AutoencoderKL') throw new Error(`${name}: _class_name is ${JSON.stringify(cls)}, expected "AutoencoderKL"`);
  const boc = j['block_out_channels'];
  if (!Array.isArray(boc) || boc.length === 0 || !boc.every((c) => Number.isInteger(c) && c > 0)) {
    throw new Error(`${name}: "block_out_channels" must be a non-empty list of positive integers`);
  }
  const n = boc.length;
  const expectTypes = (key: string, want: string) => {
    const t = j[key];
    if (t === undefined) return;
    if (!Array.isArray(t) || t.length !== n || t.some((x) => x !== want)) {
      throw new Error(`${name}: "${key}" must be ${n} x "${want}" (got ${JSON.stringify(t)}); only the SD 1.x VAE is implemented`);
    }
  };
  expectTypes('down_block_types', 'DownEncoderBlock2D');
  expectTypes('up_block_types', 'UpDecoderBlock2D');
  const unsupported: [string, unknown][] = [
    ['act_fn', 'silu'], ['mid_block_add_attention', true], ['use_quant_conv', true], ['use_post_quant_conv', true],
  ];
  for (const [key, want] of unsupported) {
    if (j[key] !== undefined && j[key] !== want) {
      throw new Error(`${name}: "${key}" = ${JSON.stringify(j[key])} is not supported (only ${JSON.stringify(want)})`);
    }
  }
  for (const key of ['latents_mean', 'latents_std', 'shift_factor']) {
    if (j[key] !== undefined && j[key] !== null) throw new Error(`${name}: "${key}" is not supported (SD 1.x VAEs have none)`);
  }
  const cfg: AutoencoderKLConfig = {
    inChannels: positiveInt(j, 'in_channels', 3),
    outChannels: positiveInt(j, 'out_channels', 3),
    blockOutChannels: boc as number[],
    layersPerBlock: positiveInt(j, 'layers_per_block', 1),
    latentChannels: positiveInt(j, 'latent_channels', 4),
    normNumGroups: positiveInt(j, 'norm_num_groups', 32),
    scalingFactor: num(j, 'scaling_factor', 0.18215),
    sampleSize: positiveInt(j, 'sample_size', 32),
  };
  for (const c of cfg.blockOutChannels) {
    if (c % cfg.normNumGroups !== 0) throw new Error(`${name}: block_out_channels ${c} is not divisible by norm_num_groups ${cfg.normNumGroups}`);
  }
  return cfg;
}
