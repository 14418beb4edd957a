// Config parsing and checkpoint key selection for the CLIP vision tower, against the real
// openai/clip-vit-base-patch16 manifest and config in the goldens (no weights, no GPU needed).
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { CLIP_VIT_B16, inferClipVisionConfig, numTokens, parseClipVisionConfig } from '../../src/clip_vision/config.js';
import { usedByTruncatedTower } from '../../src/clip_vision/weights.js';
import { goldenPath } from '../helpers/golden.js';

const real = (name: string) => JSON.parse(readFileSync(goldenPath(`goldens_style/real_clip_vit_b16/${name}`), 'utf8'));

describe('CLIP vision config', () => {
  test('the real ViT-B/16 vision_config parses to CLIP_VIT_B16 (197 tokens, width 768)', () => {
    const cfg = parseClipVisionConfig(real('vision_config.json').vision_config);
    expect(cfg).toEqual(CLIP_VIT_B16);
    expect(numTokens(cfg)).toBe(197);
    // a full CLIPModel config.json nests it under vision_config
    expect(parseClipVisionConfig({ model_type: 'clip', vision_config: real('vision_config.json').vision_config })).toEqual(CLIP_VIT_B16);
    // older hub config.json: vision_config_dict (alone, or beside a sparse vision_config)
    const v = real('vision_config.json').vision_config;
    expect(parseClipVisionConfig({ model_type: 'clip', vision_config_dict: v })).toEqual(CLIP_VIT_B16);
    expect(parseClipVisionConfig({ model_type: 'clip', vision_config_dict: v, vision_config: { layer_norm_eps: 1e-5 } })).toEqual(CLIP_VIT_B16);
  });

  test('the tiny golden config', () => {
    const cfg = parseClipVisionConfig(JSON.parse(readFileSync(goldenPath('goldens_style/clip_vision/config.json'), 'utf8')));
    expect(cfg).toMatchObject({ hiddenSize: 64, numAttentionHeads: 4, intermediateSize: 128, imageSize: 64, patchSize: 16, numHiddenLayers: 4 });
  });

  test('sizes inferred from the manifest shapes equal the real config', () => {
    const m = real('vision_key_manifest.json').CLIPVisionModel as Record<string, { shape: number[] }>;
    expect(inferClipVisionConfig((k) => m[k]?.shape, 12)).toEqual(CLIP_VIT_B16);
  });

  test('bad configs are refused with the reason', () => {
    expect(() => parseClipVisionConfig({ hidden_size: 100, num_attention_heads: 12 })).toThrow(/not a multiple of num_attention_heads/);
    expect(() => parseClipVisionConfig({ hidden_act: 'gelu' })).toThrow(/hidden_act 'gelu' is not supported/);
    expect(() => parseClipVisionConfig({ image_size: 225, patch_size: 16, hidden_size: 768 })).toThrow(/not a multiple of patch_size/);
  });
});

describe('key selection (only the vision tower up to the last layer used is read)', () => {
  const m = real('vision_key_manifest.json');
  const keys = Object.keys(m.CLIPVisionModel);
  test('3 layers of ViT-B/16: 5 embedding/pre-norm tensors + 3 x 16 per layer', () => {
    const used = keys.filter((k) => usedByTruncatedTower(k, 3));
    expect(used).toHaveLength(5 + 3 * 16);
    expect(used.some((k) => k.includes('layers.3.') || k.includes('post_layernorm'))).toBe(false);
    const params = used.reduce((s, k) => s + m.CLIPVisionModel[k].shape.reduce((a: number, b: number) => a * b, 1), 0);
    expect(params).toBe(22_007_040); // of 85.8M in the tower: 743,424 embedding + 3 x 7,087,872 per layer
  });
  test('text tower, projections, logit_scale and the position_ids buffer are skipped', () => {
    for (const k of ['text_model.encoder.layers.0.mlp.fc1.weight', 'visual_projection.weight', 'text_projection.weight', 'logit_scale',
      'vision_model.embeddings.position_ids', 'vision_model.post_layernorm.weight']) expect(usedByTruncatedTower(k, 3), k).toBe(false);
    expect(usedByTruncatedTower('vision_model.encoder.layers.2.mlp.fc2.bias', 3)).toBe(true);
    expect(usedByTruncatedTower('vision_model.encoder.layers.10.mlp.fc2.bias', 3)).toBe(false);
  });
});
