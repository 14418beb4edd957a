// An LDM "original config" (CompVis configs/stable-diffusion/v1-inference.yaml schema), the file
// that travels with a single-file checkpoint and that diffusers' from_single_file(original_config=)
// reads. Only the fields SD 1.x uses are taken; each is type-checked and named by its yaml path
// when wrong. Sizes it states are cross-checked against the tensor shapes (infer_ldm_config.ts);
// what shapes cannot tell (heads, scale factor, schedule, sample size) is taken from it.
import { parse } from 'yaml';

export interface LdmUnetParams {
  in_channels?: number; out_channels?: number; model_channels?: number; attention_resolutions?: number[];
  num_res_blocks?: number; channel_mult?: number[]; num_heads?: number; num_head_channels?: number;
  transformer_depth?: number; context_dim?: number; use_linear_in_transformer?: boolean;
}

export interface LdmVaeParams {
  embed_dim?: number; z_channels?: number; in_channels?: number; out_ch?: number; ch?: number; ch_mult?: number[];
  num_res_blocks?: number; attn_resolutions?: number[];
}

export interface LdmOriginalConfig {
  /** File name, for messages. */
  readonly name: string;
  /** model.params.scale_factor: latents = scale_factor * VAE sample. */
  readonly scaleFactor?: number;
  /** model.params.image_size: the latent size the model was trained at (SD 1.x: 64). */
  readonly imageSize?: number;
  /** model.params.{linear_start, linear_end, timesteps, parameterization, beta_schedule}. */
  readonly schedule: { linear_start?: number; linear_end?: number; timesteps?: number; parameterization?: string; beta_schedule?: string };
  readonly unet: LdmUnetParams;
  readonly vae: LdmVaeParams;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses the yaml text; `name` (the file's name) prefixes every message. */
export function parseLdmYaml(text: string, name: string): LdmOriginalConfig {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new Error(`${name}: not valid YAML (${(e as Error).message.split('\n')[0]})`);
  }
  const at = (o: unknown, path: string): Obj => {
    let cur: unknown = o;
    for (const k of path.split('.')) cur = isObj(cur) ? cur[k] : undefined;
    if (!isObj(cur)) throw new Error(`${name}: no "${path}" section; this is not an LDM v1-inference.yaml style config`);
    return cur;
  };
  const model = at(doc, 'model');
  const params = at(doc, 'model.params');
  const target = (o: Obj, path: string, want: RegExp, why: string) => {
    const t = o['target'];
    if (t !== undefined && (typeof t !== 'string' || !want.test(t))) throw new Error(`${name}: ${path}.target is ${JSON.stringify(t)}; ${why}`);
  };
  target(model, 'model', /LatentDiffusion$/, 'only latent diffusion (Stable Diffusion) models are supported');
  const unetCfg = at(params, 'unet_config'), vaeCfg = at(params, 'first_stage_config');
  target(unetCfg, 'model.params.unet_config', /openaimodel\.UNetModel$/, 'only the SD 1.x UNet is supported');
  target(vaeCfg, 'model.params.first_stage_config', /AutoencoderKL$/, 'only the SD 1.x AutoencoderKL is supported');
  if (isObj(params['cond_stage_config'])) {
    target(params['cond_stage_config'], 'model.params.cond_stage_config', /FrozenCLIPEmbedder$/,
      'only SD 1.x\'s CLIP text encoder is supported (SD 2.x uses OpenCLIP, SDXL two encoders)');
  }
  const unetParams = isObj(unetCfg['params']) ? unetCfg['params'] : {};
  const vaeParams = isObj(vaeCfg['params']) ? vaeCfg['params'] : {};
  const dd = isObj(vaeParams['ddconfig']) ? vaeParams['ddconfig'] : {};

  const num = (o: Obj, path: string, k: string): number | undefined => {
    const v = o[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${name}: ${path}.${k} must be a number (got ${JSON.stringify(v)})`);
    return v;
  };
  const ints = (o: Obj, path: string, k: string): number[] | undefined => {
    const v = o[k];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x))) throw new Error(`${name}: ${path}.${k} must be a list of integers (got ${JSON.stringify(v)})`);
    return v as number[];
  };
  const str = (o: Obj, path: string, k: string): string | undefined => {
    const v = o[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw new Error(`${name}: ${path}.${k} must be a string (got ${JSON.stringify(v)})`);
    return v;
  };
  const P = 'model.params', U = 'model.params.unet_config.params', V = 'model.params.first_stage_config.params';
  const D = `${V}.ddconfig`;
  return {
    name,
    scaleFactor: num(params, P, 'scale_factor'),
    imageSize: num(params, P, 'image_size'),
    schedule: {
      linear_start: num(params, P, 'linear_start'), linear_end: num(params, P, 'linear_end'), timesteps: num(params, P, 'timesteps'),
      parameterization: str(params, P, 'parameterization'), beta_schedule: str(params, P, 'beta_schedule'),
    },
    unet: {
      in_channels: num(unetParams, U, 'in_channels'), out_channels: num(unetParams, U, 'out_channels'),
      model_channels: num(unetParams, U, 'model_channels'), attention_resolutions: ints(unetParams, U, 'attention_resolutions'),
      num_res_blocks: num(unetParams, U, 'num_res_blocks'), channel_mult: ints(unetParams, U, 'channel_mult'),
      num_heads: num(unetParams, U, 'num_heads'), num_head_channels: num(unetParams, U, 'num_head_channels'),
      transformer_depth: num(unetParams, U, 'transformer_depth'), context_dim: num(unetParams, U, 'context_dim'),
      use_linear_in_transformer: unetParams['use_linear_in_transformer'] === true,
    },
    vae: {
      embed_dim: num(vaeParams, V, 'embed_dim'), z_channels: num(dd, D, 'z_channels'), in_channels: num(dd, D, 'in_channels'),
      out_ch: num(dd, D, 'out_ch'), ch: num(dd, D, 'ch'), ch_mult: ints(dd, D, 'ch_mult'), num_res_blocks: num(dd, D, 'num_res_blocks'),
      attn_resolutions: ints(dd, D, 'attn_resolutions'),
    },
  };
}

/**
 * The diffusers scheduler_config.json an LDM config stands for (SD 1.x's PNDM settings with the
 * yaml's betas / steps / parameterization). LDM's "linear" schedule is linspace(sqrt(start),
 * sqrt(end))**2, which diffusers calls "scaled_linear"; the scheduler config parser then refuses
 * anything that is not SD 1.x's schedule, by name.
 */
export function schedulerConfigFromLdm(c: LdmOriginalConfig): Record<string, unknown> {
  const s = c.schedule;
  const schedule = s.beta_schedule === undefined || s.beta_schedule === 'linear' ? 'scaled_linear' : s.beta_schedule;
  return {
    _class_name: 'PNDMScheduler', num_train_timesteps: s.timesteps ?? 1000, beta_start: s.linear_start ?? 0.00085,
    beta_end: s.linear_end ?? 0.012, beta_schedule: schedule,
    prediction_type: s.parameterization === undefined || s.parameterization === 'eps' ? 'epsilon'
      : s.parameterization === 'v' ? 'v_prediction' : s.parameterization,
    set_alpha_to_one: false, steps_offset: 1, clip_sample: false, timestep_spacing: 'leading',
  };
}
