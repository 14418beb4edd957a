// Loads a whole SD 1.x model: tokenizer, text encoder, UNet, VAE and the scheduler config, from a
// diffusers folder (unet/, vae/, text_encoder/, tokenizer/, scheduler/) or a CompVis single-file
// checkpoint, through src/weights/model_source.ts. Works on any ModelFiles / ByteSource, so the
// same code runs in Node and in a browser; load_pipeline_node.ts resolves local paths.
//
// A single file carries weights only. Its configs come from `config` (a diffusers folder, as with
// diffusers' `from_single_file(config=...)`), or are read off its tensor shapes, with what shapes
// cannot tell taken from `originalConfig` (an LDM v1-inference.yaml) or SD 1.x's defaults
// (src/weights/infer_ldm_config.ts). The tokenizer comes from the config folder's tokenizer/.
import type { GpuContext } from '../gpu/context.js';
import type { DType } from '../gpu/tensor.js';
import { CLIPTokenizer } from '../text/clip_tokenizer.js';
import { parseClipTextConfig, SD14_TEXT_ENCODER, type CLIPTextConfig } from '../text/clip_text_config.js';
import { CLIPTextModel } from '../text/clip_text_model.js';
import { parseUNetConfig, SD14_UNET, type UNet2DConditionConfig } from '../unet/config.js';
import { UNet2DConditionModel } from '../unet/unet_2d_condition.js';
import { AutoencoderKL } from '../vae/autoencoder_kl.js';
import { parseVaeConfig, SD14_VAE, type AutoencoderKLConfig } from '../vae/config.js';
import type { ByteSource } from '../weights/byte_source.js';
import { inferLdmConfigs } from '../weights/infer_ldm_config.js';
import { parseLdmYaml, schedulerConfigFromLdm } from '../weights/ldm_yaml.js';
import { loadComponentWeights, loadSingleFileWeights, type ModelFiles, type SingleFileWeights } from '../weights/model_source.js';
import type { Weights } from '../weights/weights.js';
import { parseSchedulerConfig, SD14_SCHEDULER, type SchedulerConfig } from './scheduler_config.js';

export type PipelineComponent = 'tokenizer' | 'text_encoder' | 'unet' | 'vae';
export const PIPELINE_COMPONENTS: readonly PipelineComponent[] = ['tokenizer', 'text_encoder', 'unet', 'vae'];

/** Where the model comes from. */
export type ModelSource =
  | { kind: 'diffusers'; files: ModelFiles }
  | {
    kind: 'single-file'; file: ByteSource; config?: ModelFiles; originalConfig?: OriginalConfigText;
    /**
     * Where the tokenizer comes from when there is no config folder: any folder with tokenizer/.
     * Every SD 1.x model uses CLIP ViT-L/14's tokenizer (49408 tokens), so the Node loader
     * defaults to the copy shipped with the embedded model; the text encoder's vocab size is checked.
     */
    tokenizer?: ModelFiles;
  };

/** An LDM config (v1-inference.yaml schema) for a single file: its name (for messages) and text. */
export interface OriginalConfigText { name: string; text: string }

export interface LoadPipelineOptions {
  /** GPU weight storage: 'auto' (default) = f16 on hardware adapters with shader-f16, else f32. */
  weightDtype?: 'auto' | 'f16' | 'f32';
  /** Which parts to load (default: all). The scheduler config is always read. */
  components?: readonly PipelineComponent[];
  /** Largest VAE activation part in bytes (default: the device's binding limit). */
  vaeMaxChunkBytes?: number;
}

export interface StableDiffusionModel {
  /** Folder path or file name, for messages. */
  readonly name: string;
  readonly kind: ModelSource['kind'];
  readonly weightDtype: DType;
  readonly tokenizer?: CLIPTokenizer;
  readonly text_encoder?: CLIPTextModel;
  readonly unet?: UNet2DConditionModel;
  readonly vae?: AutoencoderKL;
  readonly scheduler: SchedulerConfig;
  readonly configs: { unet: UNet2DConditionConfig; vae: AutoencoderKLConfig; text_encoder: CLIPTextConfig };
  /** One line saying where the configs came from (files, or inferred and which values assumed), for logs. */
  readonly configSource: string;
  /** Frees every GPU weight. */
  destroy(ctx: GpuContext): void;
}

export function resolveWeightDtype(ctx: GpuContext, opt: LoadPipelineOptions['weightDtype'] = 'auto'): DType {
  // f16 halves weight memory and bandwidth on GPUs; on CPU (fallback) adapters it is slower
  // than f32 and less accurate (docs: webgpu-here), so 'auto' keeps f32 there.
  if (opt === 'auto') return ctx.hasF16 && !ctx.adapter.isFallbackAdapter ? 'f16' : 'f32';
  if (opt !== 'f16' && opt !== 'f32') throw new Error(`weightDtype must be 'auto', 'f16' or 'f32' (got ${JSON.stringify(opt)})`);
  if (opt === 'f16' && !ctx.hasF16) throw new Error('weightDtype f16 asked for, but this adapter has no shader-f16 (use f32 or auto)');
  return opt;
}

/** The configs of a model source. */
export interface ModelConfigs {
  unet: UNet2DConditionConfig;
  vae: AutoencoderKLConfig;
  text_encoder: CLIPTextConfig;
  scheduler: SchedulerConfig;
}

async function readJson(files: ModelFiles, rel: string): Promise<string> {
  const text = await files.readText(rel);
  if (text === null) throw new Error(`${files.name}: missing ${rel}`);
  return text;
}

async function folderConfigs(files: ModelFiles, need: ReadonlySet<PipelineComponent>): Promise<ModelConfigs> {
  const at = (rel: string) => `${files.name}/${rel}`;
  const sched = await files.readText('scheduler/scheduler_config.json');
  return {
    unet: need.has('unet') ? wrap(at('unet/config.json'), parseUNetConfig, await readJson(files, 'unet/config.json')) : SD14_UNET,
    vae: need.has('vae') ? parseVaeConfig(await readJson(files, 'vae/config.json'), at('vae/config.json')) : SD14_VAE,
    text_encoder: need.has('text_encoder')
      ? parseClipTextConfig(await readJson(files, 'text_encoder/config.json'), at('text_encoder/config.json')) : SD14_TEXT_ENCODER,
    scheduler: sched === null ? SD14_SCHEDULER : parseSchedulerConfig(sched, at('scheduler/scheduler_config.json')),
  };
}

function wrap<T, S>(name: string, parse: (s: S) => T, text: S): T {
  try {
    return parse(text);
  } catch (e) {
    throw new Error(`${name}: ${(e as Error).message}`, { cause: e });
  }
}

/** Configs read off a single file's shapes, plus its LDM yaml when given. */
function singleFileConfigs(source: Extract<ModelSource, { kind: 'single-file' }>, sf: SingleFileWeights,
                           need: ReadonlySet<PipelineComponent>): { configs: ModelConfigs; from: string } {
  const orig = source.originalConfig ? parseLdmYaml(source.originalConfig.text, source.originalConfig.name) : undefined;
  const inf = inferLdmConfigs(source.file.name, sf.shapes, sf.layout, need, orig);
  const at = (c: string) => `${c} config inferred from ${source.file.name}`;
  const configs: ModelConfigs = {
    unet: inf.unet ? wrap(at('unet'), parseUNetConfig, inf.unet) : SD14_UNET,
    vae: inf.vae ? parseVaeConfig(inf.vae, at('vae')) : SD14_VAE,
    text_encoder: inf.text_encoder ? parseClipTextConfig(inf.text_encoder, at('text encoder')) : SD14_TEXT_ENCODER,
    scheduler: orig ? parseSchedulerConfig(JSON.stringify(schedulerConfigFromLdm(orig)), orig.name) : SD14_SCHEDULER,
  };
  const from = `configs: inferred from the tensor shapes of ${source.file.name}` +
    (orig ? `, with ${orig.name} for what shapes cannot tell` : '') +
    (inf.assumed.length ? `; SD 1.x defaults for ${inf.assumed.join(', ')}` : '') +
    (source.config ? `; tokenizer from ${source.config.name}` : source.tokenizer ? `; CLIP tokenizer from ${source.tokenizer.name}` : '');
  return { configs, from };
}

/**
 * Configs of any source. A single file uses its config folder's configs, unless an LDM yaml is
 * given too: then sizes come from its shapes and the yaml, and the folder gives only the tokenizer
 * (the usual case of a checkpoint + v1-inference.yaml, with a tokenizer from elsewhere).
 * `sf` is the single file's header, read once by the caller.
 */
async function sourceConfigs(source: ModelSource, need: ReadonlySet<PipelineComponent>,
                             sf?: SingleFileWeights): Promise<{ configs: ModelConfigs; from: string }> {
  if (source.kind === 'diffusers') return { configs: await folderConfigs(source.files, need), from: `configs: ${source.files.name}/*/config.json` };
  if (source.config && !source.originalConfig) {
    return { configs: await folderConfigs(source.config, need), from: `configs: the diffusers config folder ${source.config.name}` };
  }
  return singleFileConfigs(source, sf ?? await loadSingleFileWeights(source.file), need);
}

/**
 * The configs a load of `source` would use, from config files and, for a single file, its header
 * only (no weight is read): for checks that run before loading (output size, device fit). The
 * caller keeps ownership of the source's byte source.
 */
export async function readModelConfigs(source: ModelSource, components: readonly PipelineComponent[] = PIPELINE_COMPONENTS):
    Promise<ModelConfigs & { configSource: string }> {
  const { configs, from } = await sourceConfigs(source, new Set(components));
  return { ...configs, configSource: from };
}

async function loadTokenizer(files: ModelFiles): Promise<CLIPTokenizer> {
  const [vocab, merges, cfg, special] = await Promise.all(
    ['tokenizer/vocab.json', 'tokenizer/merges.txt', 'tokenizer/tokenizer_config.json', 'tokenizer/special_tokens_map.json']
      .map((p) => files.readText(p)));
  if (vocab === null || merges === null) throw new Error(`${files.name}: missing tokenizer/vocab.json or tokenizer/merges.txt`);
  return new CLIPTokenizer(vocab, merges, { tokenizerConfigJson: cfg ?? undefined, specialTokensMapJson: special ?? undefined });
}

/** Loads the requested components; on any failure everything already uploaded is freed. */
export async function loadPipeline(ctx: GpuContext, source: ModelSource, opts: LoadPipelineOptions = {}): Promise<StableDiffusionModel> {
  const weightDtype = resolveWeightDtype(ctx, opts.weightDtype);
  const need = new Set(opts.components ?? PIPELINE_COMPONENTS);
  for (const c of need) if (!PIPELINE_COMPONENTS.includes(c)) throw new Error(`unknown pipeline component "${c}" (one of ${PIPELINE_COMPONENTS.join(', ')})`);

  const configFiles = source.kind === 'diffusers' ? source.files : source.config;
  const name = source.kind === 'diffusers' ? source.files.name : source.file.name;
  let configs: ModelConfigs, configSource: string;

  // Weight trees, diffusers-named.
  let trees: Partial<Record<'unet' | 'vae' | 'text_encoder', Weights>>;
  let close: () => Promise<void>;
  if (source.kind === 'diffusers') {
    ({ configs, from: configSource } = await sourceConfigs(source, need));
    const preferFp16 = weightDtype === 'f16';
    const comps = (['text_encoder', 'unet', 'vae'] as const).filter((c) => need.has(c));
    trees = {};
    try {
      for (const c of comps) trees[c] = await loadComponentWeights(source.files, c, { preferFp16 });
    } catch (e) {
      await Promise.all(Object.values(trees).map((w) => w.close()));
      throw e;
    }
    close = async () => { await Promise.all(Object.values(trees).map((w) => w.close())); };
  } else {
    let sf;
    try {
      sf = await loadSingleFileWeights(source.file);
      ({ configs, from: configSource } = await sourceConfigs(source, need, sf));
    } catch (e) {
      await source.file.close?.();
      throw e;
    }
    trees = { unet: sf.unet, vae: sf.vae, text_encoder: sf.text_encoder };
    close = async () => { await source.file.close?.(); };
  }
  const cfg = configs;

  const built: { destroy(ctx: GpuContext): void }[] = [];
  const model: { -readonly [K in keyof StableDiffusionModel]: StableDiffusionModel[K] } = {
    name, kind: source.kind, weightDtype, scheduler: cfg.scheduler, configSource,
    configs: { unet: cfg.unet, vae: cfg.vae, text_encoder: cfg.text_encoder },
    destroy: (c) => { for (const m of built.splice(0)) m.destroy(c); },
  };
  // A single file's shape mismatch means its tensors disagree with the configs read off the others
  // (or with the config folder given): say which, since the message names only the two shapes.
  const hint = (e: unknown): never => {
    if (source.kind === 'single-file' && /has shape/.test((e as Error).message)) {
      throw new Error(`${(e as Error).message}\n(${source.config && !source.originalConfig
        ? `the configs come from ${source.config.name}: check that this folder belongs to the checkpoint`
        : 'the configs were read off the checkpoint\'s other tensors, so its tensors disagree with each other: ' +
          'the file is damaged or not an SD 1.x model'})`, { cause: e });
    }
    throw e;
  };
  try {
    if (need.has('tokenizer')) {
      const tokFiles = configFiles ?? (source.kind === 'single-file' ? source.tokenizer : undefined);
      if (!tokFiles) {
        throw new Error(`${name}: a single-file checkpoint has no tokenizer; pass a diffusers config folder that has tokenizer/ ` +
          '(or load without the tokenizer component)');
      }
      model.tokenizer = await loadTokenizer(tokFiles);
      const vocab = cfg.text_encoder.vocabSize;
      if (vocab !== undefined && model.tokenizer.vocabSize > vocab) {
        throw new Error(`${name}: the tokenizer from ${tokFiles.name} has ${model.tokenizer.vocabSize} tokens but the text encoder only ${vocab}; ` +
          'pass the model\'s own config folder (with tokenizer/)');
      }
    }
    const p = { weightDtype };
    if (need.has('text_encoder')) {
      model.text_encoder = await CLIPTextModel.load(ctx, trees.text_encoder!, cfg.text_encoder, p).catch(hint);
      built.push(model.text_encoder);
    }
    if (need.has('unet')) {
      model.unet = await UNet2DConditionModel.load(ctx, trees.unet!, cfg.unet, p).catch(hint);
      built.push(model.unet);
    }
    if (need.has('vae')) {
      model.vae = await AutoencoderKL.load(ctx, trees.vae!, cfg.vae, { ...p, maxChunkBytes: opts.vaeMaxChunkBytes }).catch(hint);
      built.push(model.vae);
    }
  } catch (e) {
    model.destroy(ctx);
    await close().catch(() => undefined);
    throw e;
  }
  await close();
  return model;
}
