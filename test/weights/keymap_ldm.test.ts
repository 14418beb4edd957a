// The key map against sd14_key_manifest.json: every key of the real SD 1.4 UNet, VAE and text
// encoder, its CompVis/LDM name as diffusers' conversion functions produce it, and both shapes.
// Needs no weights.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renameLegacyVaeKey, vaeViewShape } from '../../src/weights/aliases.js';
import {
  COMPONENTS, diffusersShapeToLdm, diffusersToLdm, layoutFromConfigs, layoutFromDiffusersKeys, layoutFromLdmKeys,
  ldmShapeToDiffusers, ldmToDiffusers, SD1_LAYOUT, type Component,
} from '../../src/weights/keymap_ldm.js';
import { GOLDEN } from './helpers.js';

interface Manifest {
  diffusers: Record<string, Record<string, number[]>>;
  ldm_single_file: Record<string, number[]>;
  diffusers_to_ldm: Record<Component, Record<string, string>>;
  ldm_reshaped_to_conv1x1: string[];
}
const manifest = JSON.parse(readFileSync(`${GOLDEN}sd14_configs/sd14_key_manifest.json`, 'utf8')) as Manifest;
const FILE: Record<Component, string> = {
  unet: 'unet/diffusion_pytorch_model.safetensors', vae: 'vae/diffusion_pytorch_model.safetensors', text_encoder: 'text_encoder/model.safetensors',
};
const config = (c: string) => JSON.parse(readFileSync(`${GOLDEN}sd14_configs/${c}/config.json`, 'utf8'));

describe('LDM key map vs the SD 1.4 manifest', () => {
  for (const c of COMPONENTS) {
    it(`${c}: diffusers -> LDM and back, key by key`, () => {
      const table = manifest.diffusers_to_ldm[c];
      expect(Object.keys(table).sort()).toEqual(Object.keys(manifest.diffusers[FILE[c]]!).sort());
      const wrong: string[] = [];
      for (const [dk, lk] of Object.entries(table)) {
        const fwd = diffusersToLdm(c, dk);
        const back = ldmToDiffusers(lk);
        if (fwd !== lk) wrong.push(`${dk} -> ${fwd}, want ${lk}`);
        if (back?.component !== c || back.key !== dk) wrong.push(`${lk} -> ${JSON.stringify(back)}, want ${c}:${dk}`);
      }
      expect(wrong).toEqual([]);
    });

    it(`${c}: shapes, including the VAE [C,C,1,1] attention convs`, () => {
      const reshaped: string[] = [];
      for (const [dk, lk] of Object.entries(manifest.diffusers_to_ldm[c])) {
        const dShape = manifest.diffusers[FILE[c]]![dk]!;
        const lShape = manifest.ldm_single_file[lk]!;
        expect(diffusersShapeToLdm(c, dk, dShape), dk).toEqual(lShape);
        expect(ldmShapeToDiffusers(c, dk, lShape), dk).toEqual(dShape);
        if (dShape.length !== lShape.length) reshaped.push(lk);
      }
      expect(reshaped.sort()).toEqual(manifest.ldm_reshaped_to_conv1x1.filter((k) => ldmToDiffusers(k)?.component === c).sort());
    });
  }

  it('covers every single-file key exactly once', () => {
    const all = Object.keys(manifest.ldm_single_file);
    const mapped = all.map((k) => ldmToDiffusers(k)).map((m) => `${m?.component}:${m?.key}`);
    expect(new Set(mapped).size).toBe(all.length);
    expect(mapped.filter((m) => m.startsWith('undefined'))).toEqual([]);
  });

  it('infers the SD 1.x layout from keys and from configs', () => {
    expect(layoutFromLdmKeys(Object.keys(manifest.ldm_single_file))).toEqual(SD1_LAYOUT);
    expect(layoutFromDiffusersKeys(Object.keys(manifest.diffusers[FILE.unet]!), Object.keys(manifest.diffusers[FILE.vae]!))).toEqual(SD1_LAYOUT);
    expect(layoutFromConfigs(config('unet'), config('vae'))).toEqual(SD1_LAYOUT);
  });

  it('leaves non-model keys unmapped', () => {
    for (const k of ['betas', 'alphas_cumprod', 'model_ema.decay', 'model_ema.diffusion_modelinput_blocks00weight',
      'model.diffusion_model.input_blocks.0.1.weight', 'model.diffusion_model.input_blocks.1.0.in_layers.1.weight',
      'model.diffusion_model.output_blocks.0.1.conv.weight', 'first_stage_model.decoder.up.4.block.0.conv1.weight',
      'first_stage_model.encoder.mid.attn_2.q.weight', 'cond_stage_model.model.token_embedding.weight']) {
      expect(ldmToDiffusers(k), k).toBeNull();
    }
  });

  it('maps older text-encoder keys without the text_model level, and position_ids', () => {
    expect(ldmToDiffusers('cond_stage_model.transformer.embeddings.position_ids')).toEqual(
      { component: 'text_encoder', key: 'text_model.embeddings.position_ids' });
    expect(ldmToDiffusers('cond_stage_model.transformer.final_layer_norm.weight')?.key).toBe('text_model.final_layer_norm.weight');
  });

  it('follows a non-SD layout (layers_per_block 1, 3 blocks)', () => {
    const layout = { unet: { layersPerBlock: 1, upBlockHasAttention: [false, true, true] }, vaeUpBlocks: 3 };
    const pairs: [Component, string, string][] = [
      ['unet', 'down_blocks.1.resnets.0.conv1.weight', 'model.diffusion_model.input_blocks.3.0.in_layers.2.weight'],
      ['unet', 'down_blocks.0.downsamplers.0.conv.weight', 'model.diffusion_model.input_blocks.2.0.op.weight'],
      ['unet', 'up_blocks.0.upsamplers.0.conv.bias', 'model.diffusion_model.output_blocks.1.1.conv.bias'],
      ['unet', 'up_blocks.1.upsamplers.0.conv.bias', 'model.diffusion_model.output_blocks.3.2.conv.bias'],
      ['unet', 'up_blocks.2.attentions.1.proj_out.weight', 'model.diffusion_model.output_blocks.5.1.proj_out.weight'],
      ['vae', 'decoder.up_blocks.0.upsamplers.0.conv.weight', 'first_stage_model.decoder.up.2.upsample.conv.weight'],
    ];
    for (const [c, dk, lk] of pairs) {
      expect(diffusersToLdm(c, dk, layout)).toBe(lk);
      expect(ldmToDiffusers(lk, layout)).toEqual({ component: c, key: dk });
    }
    expect(layoutFromLdmKeys(pairs.map((p) => p[2]).concat('model.diffusion_model.output_blocks.2.1.norm.weight',
      'model.diffusion_model.output_blocks.4.1.norm.weight'))).toEqual(layout);
  });
});

describe('legacy diffusers VAE names (aliases.ts)', () => {
  it('renames query/key/value/proj_attn and views 1x1 convs as matrices', () => {
    expect(renameLegacyVaeKey('encoder.mid_block.attentions.0.query.weight')).toBe('encoder.mid_block.attentions.0.to_q.weight');
    expect(renameLegacyVaeKey('decoder.mid_block.attentions.0.key.bias')).toBe('decoder.mid_block.attentions.0.to_k.bias');
    expect(renameLegacyVaeKey('decoder.mid_block.attentions.0.value.weight')).toBe('decoder.mid_block.attentions.0.to_v.weight');
    expect(renameLegacyVaeKey('decoder.mid_block.attentions.0.proj_attn.bias')).toBe('decoder.mid_block.attentions.0.to_out.0.bias');
    expect(renameLegacyVaeKey('decoder.mid_block.attentions.0.group_norm.weight')).toBe('decoder.mid_block.attentions.0.group_norm.weight');
    expect(renameLegacyVaeKey('decoder.up_blocks.0.resnets.0.conv1.weight')).toBe('decoder.up_blocks.0.resnets.0.conv1.weight');
    expect(vaeViewShape('encoder.mid_block.attentions.0.to_out.0.weight', [512, 512, 1, 1])).toEqual([512, 512]);
    expect(vaeViewShape('encoder.mid_block.attentions.0.to_out.0.bias', [512])).toEqual([512]);
    expect(vaeViewShape('encoder.conv_out.weight', [8, 512, 1, 1])).toEqual([8, 512, 1, 1]);
  });
});
