// Key map between a CompVis/LDM single-file SD 1.x checkpoint and the diffusers tree, which is
// the only spelling modules see. Prefixes:
//   model.diffusion_model.*            -> unet          (keymap_ldm_unet.ts)
//   first_stage_model.*                -> vae           (keymap_ldm_vae.ts)
//   cond_stage_model.transformer.*     -> text_encoder  (transformers CLIPTextModel keys)
// Checked key by key against sd14_key_manifest.json (diffusers' own conversion functions).
import { vaeConvShape, vaeViewShape } from './aliases.js';
import { unetDiffusersToLdm, unetLdmToDiffusers, type UnetLayout } from './keymap_ldm_unet.js';
import { vaeDiffusersToLdm, vaeLdmToDiffusers } from './keymap_ldm_vae.js';

export type Component = 'unet' | 'vae' | 'text_encoder';
export const COMPONENTS: readonly Component[] = ['unet', 'vae', 'text_encoder'];

export const LDM_PREFIX: Readonly<Record<Component, string>> = {
  unet: 'model.diffusion_model.',
  vae: 'first_stage_model.',
  text_encoder: 'cond_stage_model.transformer.',
};

/** The structure facts the index arithmetic depends on. */
export interface LdmLayout {
  readonly unet: UnetLayout;
  /** Number of VAE decoder up blocks (len(block_out_channels); SD 1.x: 4). */
  readonly vaeUpBlocks: number;
}

export const SD1_LAYOUT: LdmLayout = {
  unet: { layersPerBlock: 2, upBlockHasAttention: [false, true, true, true] },
  vaeUpBlocks: 4,
};

/** Layout from diffusers config.json objects (unet and vae); missing fields fall back to SD 1.x. */
export function layoutFromConfigs(
  unet?: { layers_per_block?: number; up_block_types?: readonly string[] },
  vae?: { block_out_channels?: readonly number[] },
): LdmLayout {
  return {
    unet: {
      layersPerBlock: unet?.layers_per_block ?? SD1_LAYOUT.unet.layersPerBlock,
      upBlockHasAttention: unet?.up_block_types?.map((t) => t.startsWith('CrossAttn')) ?? SD1_LAYOUT.unet.upBlockHasAttention,
    },
    vaeUpBlocks: vae?.block_out_channels?.length ?? SD1_LAYOUT.vaeUpBlocks,
  };
}

/**
 * Layout read off the LDM key names themselves, so a single file needs no yaml:
 * the first downsampler sits at input_blocks.(layers_per_block+1).0.op, up block b has attention
 * iff output_blocks.(b*(lpb+1)).1.norm exists, and the VAE has max(decoder.up.i)+1 up blocks.
 */
export function layoutFromLdmKeys(keys: Iterable<string>): LdmLayout {
  let firstOp = Infinity, maxUp = -1, maxOut = -1;
  const attnOut = new Set<number>();
  for (const full of keys) {
    if (full.startsWith(LDM_PREFIX.unet)) {
      const key = full.slice(LDM_PREFIX.unet.length);
      const op = /^input_blocks\.(\d+)\.0\.op\./.exec(key);
      if (op) firstOp = Math.min(firstOp, Number(op[1]));
      const out = /^output_blocks\.(\d+)\.(1\.norm\.)?/.exec(key);
      if (out) maxOut = Math.max(maxOut, Number(out[1]));
      if (out?.[2]) attnOut.add(Number(out[1]));
    } else if (full.startsWith(LDM_PREFIX.vae)) {
      const up = /^decoder\.up\.(\d+)\./.exec(full.slice(LDM_PREFIX.vae.length));
      if (up) maxUp = Math.max(maxUp, Number(up[1]));
    }
  }
  const layersPerBlock = Number.isFinite(firstOp) ? firstOp - 1 : SD1_LAYOUT.unet.layersPerBlock;
  const per = layersPerBlock + 1;
  const upBlocks = maxOut >= 0 ? Math.floor(maxOut / per) + 1 : SD1_LAYOUT.unet.upBlockHasAttention.length;
  const upBlockHasAttention = Array.from({ length: upBlocks }, (_, b) => attnOut.has(b * per));
  return { unet: { layersPerBlock, upBlockHasAttention }, vaeUpBlocks: maxUp >= 0 ? maxUp + 1 : SD1_LAYOUT.vaeUpBlocks };
}

/** Layout from diffusers key names (for writing a single file from a folder). */
export function layoutFromDiffusersKeys(unetKeys: Iterable<string>, vaeKeys: Iterable<string>): LdmLayout {
  let maxRes = -1, maxUpBlock = -1, maxVaeUp = -1;
  const attn = new Set<number>();
  for (const k of unetKeys) {
    let m: RegExpExecArray | null;
    if ((m = /^down_blocks\.\d+\.resnets\.(\d+)\./.exec(k))) maxRes = Math.max(maxRes, Number(m[1]));
    if ((m = /^up_blocks\.(\d+)\.(attentions)?/.exec(k))) {
      maxUpBlock = Math.max(maxUpBlock, Number(m[1]));
      if (m[2]) attn.add(Number(m[1]));
    }
  }
  for (const k of vaeKeys) {
    const m = /^decoder\.up_blocks\.(\d+)\./.exec(k);
    if (m) maxVaeUp = Math.max(maxVaeUp, Number(m[1]));
  }
  return {
    unet: {
      layersPerBlock: maxRes >= 0 ? maxRes + 1 : SD1_LAYOUT.unet.layersPerBlock,
      upBlockHasAttention: maxUpBlock >= 0 ? Array.from({ length: maxUpBlock + 1 }, (_, b) => attn.has(b)) : SD1_LAYOUT.unet.upBlockHasAttention,
    },
    vaeUpBlocks: maxVaeUp >= 0 ? maxVaeUp + 1 : SD1_LAYOUT.vaeUpBlocks,
  };
}

/**
 * A full single-file key -> component and diffusers key; null for keys outside the three
 * components (model_ema.*, DDPM buffers) or with a structure the map does not know.
 */
export function ldmToDiffusers(ldmKey: string, layout: LdmLayout = SD1_LAYOUT): { component: Component; key: string } | null {
  if (ldmKey.startsWith(LDM_PREFIX.unet)) {
    const key = unetLdmToDiffusers(ldmKey.slice(LDM_PREFIX.unet.length), layout.unet);
    return key === null ? null : { component: 'unet', key };
  }
  if (ldmKey.startsWith(LDM_PREFIX.vae)) {
    const key = vaeLdmToDiffusers(ldmKey.slice(LDM_PREFIX.vae.length), layout.vaeUpBlocks);
    return key === null ? null : { component: 'vae', key };
  }
  if (ldmKey.startsWith(LDM_PREFIX.text_encoder)) {
    // Checkpoints saved with transformers < 4.? lack the `text_model.` level (CLIPTextTransformer keys).
    const rest = ldmKey.slice(LDM_PREFIX.text_encoder.length);
    return { component: 'text_encoder', key: rest.startsWith('text_model.') ? rest : `text_model.${rest}` };
  }
  return null;
}

/** diffusers key of one component -> full single-file key; null if the key has no LDM name. */
export function diffusersToLdm(component: Component, key: string, layout: LdmLayout = SD1_LAYOUT): string | null {
  let rest: string | null;
  if (component === 'unet') rest = unetDiffusersToLdm(key, layout.unet);
  else if (component === 'vae') rest = vaeDiffusersToLdm(key, layout.vaeUpBlocks);
  else rest = key;
  return rest === null ? null : LDM_PREFIX[component] + rest;
}

/** Shape the model sees for a single-file tensor (VAE attention [C,C,1,1] -> [C,C]). */
export function ldmShapeToDiffusers(component: Component, key: string, shape: readonly number[]): readonly number[] {
  return component === 'vae' ? vaeViewShape(key, shape) : shape;
}

/** Shape a diffusers tensor has in a single file (VAE attention [C,C] -> [C,C,1,1]). */
export function diffusersShapeToLdm(component: Component, key: string, shape: readonly number[]): readonly number[] {
  return component === 'vae' ? vaeConvShape(key, shape) : shape;
}
