// `tether forward`: runs one model component on tensors from a safetensors file and writes its
// outputs to another, for checking a model conversion against another implementation (diffusers,
// sd.cpp, ...). Tensor names are those of the oracle goldens:
//   unet          sample [B,4,h,w] F32, timesteps [B] (or [1]) I64/I32/F32, encoder_hidden_states [B,77,768] F32 -> noise_pred
//   vae-encode    image [B,3,H,W] F32 in [-1, 1]                                            -> mean, logvar
//   vae-decode    latent [B,4,h,w] F32 (already divided by scaling_factor)                   -> image
//   text-encoder  input_ids [B,T<=77] I64/I32                                                -> last_hidden_state, pooler_output
import { Command, Option } from 'commander';
import type { GpuContext } from '../gpu/context.js';
import { adapterName } from '../gpu/device.js';
import { createNodeGpuContext } from '../gpu/device_node.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { loadPipelineFromPath } from '../pipeline/load_pipeline_node.js';
import type { PipelineComponent, StableDiffusionModel } from '../pipeline/load_pipeline.js';
import { fileByteSource } from '../weights/byte_source_node.js';
import { openSafetensors, type SafetensorsFile } from '../weights/safetensors.js';
import { writeSafetensorsAtomic } from '../weights/safetensors_write_node.js';
import type { TensorToWrite } from '../weights/safetensors_write.js';

export const FORWARD_COMPONENTS = ['unet', 'vae-encode', 'vae-decode', 'text-encoder'] as const;
export type ForwardComponent = (typeof FORWARD_COMPONENTS)[number];

export interface ForwardArgs {
  /** diffusers folder or single-file checkpoint */
  model: string;
  component: string;
  input: string;
  output: string;
  /** GPU weight storage (default f32: exact comparisons) */
  dtype?: 'f32' | 'f16';
  /** configs + tokenizer folder for a single-file checkpoint */
  config?: string;
}

export interface ForwardDeps {
  /** GPU context to use (tests share one); default: a new Dawn device */
  ctx?: GpuContext;
}

export interface ForwardResult {
  outputs: Record<string, number[]>;
  seconds: number;
}

const NEEDS: Record<ForwardComponent, PipelineComponent> = {
  unet: 'unet', 'vae-encode': 'vae', 'vae-decode': 'vae', 'text-encoder': 'text_encoder',
};

/** One input tensor, shape- and dtype-checked, with messages naming it. */
class Inputs {
  constructor(private readonly file: SafetensorsFile, private readonly path: string) {}

  info(name: string, dtypes: readonly string[], rank: number, what: string) {
    const t = this.file.tensors.get(name);
    if (!t) {
      const have = [...this.file.tensors.keys()].join(', ') || 'none';
      throw new Error(`input ${this.path}: missing tensor "${name}" (${what}); it has: ${have}`);
    }
    if (!dtypes.includes(t.dtype)) throw new Error(`input tensor "${name}" has dtype ${t.dtype}; expected ${dtypes.join(' or ')} (${what})`);
    if (t.shape.length !== rank) throw new Error(`input tensor "${name}" has shape [${t.shape.join(', ')}]; expected ${what}`);
    return t;
  }

  /** F32 tensor of rank `rank` whose dims match `want` where given (null = any). */
  async f32(name: string, want: readonly (number | null)[], what: string): Promise<{ data: Float32Array; shape: number[] }> {
    const t = this.info(name, ['F32'], want.length, what);
    if (want.some((d, i) => d !== null && t.shape[i] !== d) || t.shape.some((d) => d === 0)) {
      throw new Error(`input tensor "${name}" has shape [${t.shape.join(', ')}]; expected ${what}`);
    }
    return { data: await this.file.readF32(name), shape: [...t.shape] };
  }

  /** Any float tensor as numbers (after info() checked it). */
  async floats(name: string): Promise<number[]> {
    return Array.from(await this.file.readF32(name));
  }

  /** Integer tensor (I64/I32) as numbers. */
  async ints(name: string, rank: number, what: string): Promise<{ data: number[]; shape: number[] }> {
    const t = this.info(name, ['I64', 'I32'], rank, what);
    let data: number[];
    if (t.dtype === 'I64') data = await this.file.readI64AsNumbers(name);
    else {
      const raw = await this.file.readRaw(name);
      data = Array.from(new Int32Array(raw.slice().buffer));
    }
    return { data, shape: [...t.shape] };
  }
}

async function readOut(ctx: GpuContext, t: GpuTensor): Promise<TensorToWrite> {
  const data = await ctx.read(t);
  ctx.release(t);
  return { dtype: 'F32', shape: [...t.shape], data };
}

async function run(ctx: GpuContext, model: StableDiffusionModel, component: ForwardComponent, inp: Inputs): Promise<Record<string, TensorToWrite>> {
  switch (component) {
    case 'unet': {
      const unet = model.unet!, cfg = model.configs.unet;
      const s = await inp.f32('sample', [null, cfg.in_channels, null, null], `[B, ${cfg.in_channels}, h, w] F32`);
      const B = s.shape[0]!;
      const e = await inp.f32('encoder_hidden_states', [B, null, cfg.cross_attention_dim], `[${B}, M, ${cfg.cross_attention_dim}] F32`);
      const tInfo = inp.info('timesteps', ['I64', 'I32', 'F32', 'F64'], 1, `[${B}] (or [1]) timesteps`);
      if (tInfo.shape[0] !== B && tInfo.shape[0] !== 1) {
        throw new Error(`input tensor "timesteps" has shape [${tInfo.shape.join(', ')}]; expected [${B}] (or [1]) timesteps`);
      }
      const t = tInfo.dtype === 'I64' || tInfo.dtype === 'I32'
        ? (await inp.ints('timesteps', 1, `[${B}] timesteps`)).data
        : await inp.floats('timesteps');
      const timesteps = t.length === 1 ? new Array<number>(B).fill(t[0]!) : t;
      const sample = ctx.upload(s.data, s.shape), ehs = ctx.upload(e.data, e.shape);
      const y = unet.forward(ctx, sample, timesteps, ehs);
      ctx.release(sample, ehs);
      return { noise_pred: await readOut(ctx, y) };
    }
    case 'vae-encode': {
      const vae = model.vae!, f = vae.downFactor, C = model.configs.vae.inChannels;
      const x = await inp.f32('image', [null, C, null, null], `[B, ${C}, H, W] F32 with H, W multiples of ${f}`);
      if (x.shape[2]! % f !== 0 || x.shape[3]! % f !== 0) {
        throw new Error(`input tensor "image" has shape [${x.shape.join(', ')}]; expected [B, ${C}, H, W] F32 with H, W multiples of ${f}`);
      }
      const image = ctx.upload(x.data, x.shape);
      const { mean, logvar } = vae.encode(ctx, image);
      ctx.release(image);
      return { mean: await readOut(ctx, mean), logvar: await readOut(ctx, logvar) };
    }
    case 'vae-decode': {
      const vae = model.vae!, L = model.configs.vae.latentChannels;
      const z = await inp.f32('latent', [null, L, null, null], `[B, ${L}, h, w] F32`);
      const latent = ctx.upload(z.data, z.shape);
      const image = vae.decode(ctx, latent);
      ctx.release(latent);
      return { image: await readOut(ctx, image) };
    }
    case 'text-encoder': {
      const te = model.text_encoder!, maxT = model.configs.text_encoder.maxPositionEmbeddings;
      const { data, shape } = await inp.ints('input_ids', 2, `[B, T <= ${maxT}] I64 token ids`);
      const [B, T] = shape as [number, number];
      if (B === 0 || T === 0 || T > maxT) throw new Error(`input tensor "input_ids" has shape [${shape.join(', ')}]; expected [B, T <= ${maxT}] I64 token ids`);
      const rows = Array.from({ length: B }, (_, b) => data.slice(b * T, (b + 1) * T));
      try {
        te.checkIds(rows);
      } catch (e) {
        throw new Error(`input tensor "input_ids": ${(e as Error).message.replace(/^CLIPTextModel: /, '')}`);
      }
      const out = te.forward(ctx, rows);
      return { last_hidden_state: await readOut(ctx, out.last_hidden_state), pooler_output: await readOut(ctx, out.pooler_output) };
    }
  }
}

function parseComponent(c: string): ForwardComponent {
  if (!(FORWARD_COMPONENTS as readonly string[]).includes(c)) {
    throw new Error(`unknown component "${c}" (one of ${FORWARD_COMPONENTS.join(', ')})`);
  }
  return c as ForwardComponent;
}

/** Runs the command; throws an Error with a one-line message on any failure. */
export async function runForward(args: ForwardArgs, deps: ForwardDeps = {}): Promise<ForwardResult> {
  const component = parseComponent(args.component);
  const dtype = args.dtype ?? 'f32';
  if (dtype !== 'f32' && dtype !== 'f16') throw new Error(`--dtype must be f32 or f16 (got "${String(dtype)}")`);
  const started = performance.now();
  // Open and check the input file before the (slow) model load.
  const src = await fileByteSource(args.input).catch((e: NodeJS.ErrnoException) => {
    throw new Error(`input ${args.input}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  });
  try {
    const inp = new Inputs(await openSafetensors(src), args.input);
    const ctx = deps.ctx ?? await createNodeGpuContext();
    const model = await loadPipelineFromPath(ctx, args.model, { weightDtype: dtype, components: [NEEDS[component]], config: args.config });
    try {
      const outputs = await run(ctx, model, component, inp);
      await writeSafetensorsAtomic(args.output, outputs, {
        component, model: args.model, weight_dtype: dtype, adapter: adapterName(ctx.adapter),
      }).catch((e: NodeJS.ErrnoException) => {
        throw new Error(`output ${args.output}: ${e.code === 'ENOENT' ? 'its folder does not exist' : e.message}`);
      });
      return {
        outputs: Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.shape])),
        seconds: (performance.now() - started) / 1000,
      };
    } finally {
      model.destroy(ctx);
    }
  } finally {
    await src.close?.();
  }
}

/** The `forward` subcommand (the CLI entry adds it to the `tether` program). */
export function forwardCommand(deps: ForwardDeps = {}): Command {
  const cmd = new Command('forward')
    .description('run one model component on tensors from a safetensors file and write its outputs to another ' +
      '(for checking a model conversion against another implementation)')
    .requiredOption('--model <path>', 'diffusers folder or single-file SD 1.x checkpoint (.safetensors)')
    .addOption(new Option('--component <name>', 'which component to run').choices([...FORWARD_COMPONENTS]).makeOptionMandatory())
    .requiredOption('--input <file>', 'input tensors (.safetensors): unet: sample, timesteps, encoder_hidden_states; ' +
      'vae-encode: image; vae-decode: latent; text-encoder: input_ids')
    .requiredOption('--output <file>', 'where to write the outputs (.safetensors, written atomically): unet: noise_pred; ' +
      'vae-encode: mean, logvar; vae-decode: image; text-encoder: last_hidden_state, pooler_output')
    .addOption(new Option('--dtype <dtype>', 'GPU weight precision').choices(['f32', 'f16']).default('f32'))
    .option('--config <dir>', 'for a single-file checkpoint: a diffusers folder whose configs to use (default: read off its tensor shapes)')
    .addHelpText('after', '\nOutputs are F32. Activations are computed in f32; --dtype f16 stores weights in f16 (needs shader-f16).')
    .action(async function (this: Command, o: { model: string; component: string; input: string; output: string; dtype: 'f32' | 'f16'; config?: string }) {
      try {
        const r = await runForward(o, deps);
        const shapes = Object.entries(r.outputs).map(([k, s]) => `${k} [${s.join(', ')}]`).join(', ');
        this.configureOutput().writeOut?.(`wrote ${o.output}: ${shapes} (${r.seconds.toFixed(1)} s)\n`);
      } catch (e) {
        this.error(`tether forward: ${firstLine((e as Error).message)}`, { exitCode: 1, code: 'tether.forward' });
      }
    });
  return cmd;
}

function firstLine(s: string): string {
  return s.split('\n')[0]!;
}
