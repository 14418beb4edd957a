// Configs read off a single file's tensor shapes (and its LDM yaml): the real SD 1.4 shapes
// (sd14_key_manifest.json) must give SD 1.4's hub configs, the tiny golden single file the golden
// folder's configs; a yaml of another model and shapes that disagree are refused naming the
// field and the tensor. Needs no weights: shapes come from the manifest or the file's header.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseSchedulerConfig } from '../../src/pipeline/scheduler_config.js';
import { parseClipTextConfig } from '../../src/text/clip_text_config.js';
import { parseUNetConfig } from '../../src/unet/config.js';
import { parseVaeConfig } from '../../src/vae/config.js';
import { bufferByteSource } from '../../src/weights/byte_source.js';
import { inferLdmConfigs } from '../../src/weights/infer_ldm_config.js';
import { layoutFromLdmKeys } from '../../src/weights/keymap_ldm.js';
import { parseLdmYaml, schedulerConfigFromLdm } from '../../src/weights/ldm_yaml.js';
import { openSafetensors } from '../../src/weights/safetensors.js';
import { GOLDEN } from './helpers.js';

const ALL = new Set(['unet', 'vae', 'text_encoder']);
const read = (rel: string) => readFileSync(`${GOLDEN}${rel}`, 'utf8');
const SD14_YAML = () => parseLdmYaml(read('sd14_configs/v1-inference.yaml'), 'v1-inference.yaml');
const TINY_YAML = () => parseLdmYaml(read('single_file/tiny-v1-inference-public.yaml'), 'tiny-v1-inference-public.yaml');

const sd14Shapes = new Map(Object.entries(
  (JSON.parse(read('sd14_configs/sd14_key_manifest.json')) as { ldm_single_file: Record<string, number[]> }).ldm_single_file));

/** Shapes from the tiny golden single file's header (the data is never read). */
async function tinyShapes(): Promise<Map<string, readonly number[]>> {
  const bytes = readFileSync(`${GOLDEN}single_file/tiny-sd14-public.safetensors`);
  const f = await openSafetensors(bufferByteSource(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), 'tiny.safetensors'));
  return new Map([...f.tensors].map(([k, t]) => [k, t.shape]));
}

const infer = (shapes: Map<string, readonly number[]>, yaml?: ReturnType<typeof parseLdmYaml>) =>
  inferLdmConfigs('model.safetensors', shapes, layoutFromLdmKeys(shapes.keys()), ALL, yaml);

describe('configs from the tensor shapes', () => {
  for (const withYaml of [false, true]) {
    it(`SD 1.4's shapes give SD 1.4's hub configs (${withYaml ? 'with v1-inference.yaml' : 'no yaml'})`, () => {
      const got = infer(sd14Shapes, withYaml ? SD14_YAML() : undefined);
      expect(parseUNetConfig(got.unet)).toEqual(parseUNetConfig(read('sd14_configs/unet/config.json')));
      expect(parseVaeConfig(got.vae!)).toEqual(parseVaeConfig(read('sd14_configs/vae/config.json')));
      expect(parseClipTextConfig(got.text_encoder!)).toEqual(parseClipTextConfig(read('sd14_configs/text_encoder/config.json')));
      if (withYaml) {
        expect(parseSchedulerConfig(JSON.stringify(schedulerConfigFromLdm(SD14_YAML()))))
          .toEqual(parseSchedulerConfig(read('sd14_configs/scheduler/scheduler_config.json')));
        expect(got.assumed.join('; ')).not.toMatch(/UNet attention heads|scaling factor|noise schedule/);
      } else {
        expect(got.assumed.join('; ')).toMatch(/UNet attention heads \(8\).*VAE scaling factor \(0\.18215\).*noise schedule/);
      }
      expect(got.assumed.join('; ')).toMatch(/text encoder heads \(12: CLIP's width \/ 64\)/);
    });
  }

  it('the tiny golden single file gives the golden folder\'s configs (not SD 1.4 sizes)', async () => {
    const shapes = await tinyShapes();
    for (const yaml of [undefined, TINY_YAML()]) {
      const got = infer(shapes, yaml);
      const unet = parseUNetConfig(read('unet/config.json'));
      expect(parseUNetConfig(got.unet)).toEqual({ ...unet, sample_size: yaml ? 16 : 64 }); // 16: the yaml's image_size
      expect(parseVaeConfig(got.vae!)).toEqual({ ...parseVaeConfig(read('vae/config.json')), sampleSize: yaml ? 128 : 512 });
      expect(parseClipTextConfig(got.text_encoder!)).toEqual(parseClipTextConfig(read('text_encoder/config.json')));
    }
  });

  it('only the requested components are inferred', async () => {
    const shapes = await tinyShapes();
    const vaeOnly = inferLdmConfigs('m', new Map([...shapes].filter(([k]) => k.startsWith('first_stage_model.'))),
      layoutFromLdmKeys(shapes.keys()), new Set(['vae']));
    expect(Object.keys(vaeOnly).sort()).toEqual(['assumed', 'vae']);
  });

  it('a yaml of another model is refused, naming the yaml field and the tensor', async () => {
    expect(() => infer(sd14Shapes, TINY_YAML()))
      .toThrow(/tiny-v1-inference-public\.yaml: unet_config\.params\.model_channels is 32, but model\.safetensors has 320 \(from tensor model\.diffusion_model\.input_blocks\.0\.0\.weight\)/);
    const y = SD14_YAML();
    expect(() => infer(sd14Shapes, { ...y, unet: { ...y.unet, context_dim: 1024 } }))
      .toThrow(/context_dim is 1024, but .* has 768 \(from tensor model\.diffusion_model\.input_blocks\.1\.1\.transformer_blocks\.0\.attn2\.to_k\.weight\)/);
    expect(() => infer(sd14Shapes, { ...y, vae: { ...y.vae, z_channels: 16 } })).toThrow(/ddconfig\.z_channels is 16, but .* has 4/);
  });

  it('shapes that disagree with each other are refused, naming both tensors', () => {
    const bad = new Map(sd14Shapes);
    const k = 'model.diffusion_model.output_blocks.5.1.transformer_blocks.0.attn2.to_k.weight';
    bad.set(k, [640, 1024]);
    expect(() => infer(bad)).toThrow(new RegExp(`tensor ${k.replace(/\./g, '\\.')} implies cross-attention width 1024, but ` +
      'model\\.diffusion_model\\.input_blocks\\.1\\.1\\.transformer_blocks\\.0\\.attn2\\.to_k\\.weight implies 768'));
    const bad2 = new Map(sd14Shapes);
    bad2.set('model.diffusion_model.input_blocks.5.0.out_layers.3.weight', [320, 640, 3, 3]);
    expect(() => infer(bad2)).toThrow(/input_blocks\.5\.0\.out_layers\.3\.weight implies down block 1 width 320, but .*input_blocks\.4\.0\.out_layers\.3\.weight implies 640/);
    const bad3 = new Map(sd14Shapes);
    bad3.set('first_stage_model.encoder.conv_out.weight', [6, 512, 3, 3]);
    expect(() => infer(bad3)).toThrow(/encoder\.conv_out\.weight implies latent channels 3, but first_stage_model\.decoder\.conv_in\.weight implies 4/);
    const missing = new Map(sd14Shapes);
    missing.delete('cond_stage_model.transformer.text_model.encoder.layers.0.mlp.fc1.weight');
    expect(() => infer(missing)).toThrow(/tensor cond_stage_model\.transformer\.text_model\.encoder\.layers\.0\.mlp\.fc1\.weight is missing; it gives the text encoder MLP width/);
  });

  it('an SD 2.x style UNet (linear proj_in) is refused by name', () => {
    const sd2 = new Map([...sd14Shapes].map(([k, s]) => [k, /\.proj_(in|out)\.weight$/.test(k) ? s.slice(0, 2) : s]));
    expect(() => parseUNetConfig(infer(sd2).unet)).toThrow(/use_linear_projection=true: only false \(the SD 1\.x value\)/);
  });
});

describe('LDM yaml', () => {
  it('reads v1-inference.yaml', () => {
    const y = SD14_YAML();
    expect(y).toMatchObject({ scaleFactor: 0.18215, imageSize: 64, schedule: { linear_start: 0.00085, linear_end: 0.012, timesteps: 1000 } });
    expect(y.unet).toMatchObject({ model_channels: 320, channel_mult: [1, 2, 4, 4], num_heads: 8, context_dim: 768 });
    expect(y.vae).toMatchObject({ ch: 128, ch_mult: [1, 2, 4, 4], z_channels: 4, embed_dim: 4 });
  });

  it('refuses other models and bad fields by their yaml path', () => {
    const text = read('sd14_configs/v1-inference.yaml');
    expect(() => parseLdmYaml(text.replace('FrozenCLIPEmbedder', 'FrozenOpenCLIPEmbedder'), 'x.yaml'))
      .toThrow(/x\.yaml: model\.params\.cond_stage_config\.target is "ldm\.modules\.encoders\.modules\.FrozenOpenCLIPEmbedder"; only SD 1\.x's CLIP/);
    expect(() => parseLdmYaml(text.replace('context_dim: 768', 'context_dim: big'), 'x.yaml'))
      .toThrow(/x\.yaml: model\.params\.unet_config\.params\.context_dim must be a number \(got "big"\)/);
    expect(() => parseLdmYaml('model: [1, 2', 'x.yaml')).toThrow(/x\.yaml: not valid YAML/);
    expect(() => parseLdmYaml('foo: 1', 'x.yaml')).toThrow(/x\.yaml: no "model" section/);
    const v = parseLdmYaml(text.replace('linear_start: 0.00085', 'parameterization: "v"\n    linear_start: 0.00085'), 'x.yaml');
    expect(() => parseSchedulerConfig(JSON.stringify(schedulerConfigFromLdm(v)), 'x.yaml')).toThrow(/x\.yaml: .*prediction_type "v_prediction"/);
  });
});
