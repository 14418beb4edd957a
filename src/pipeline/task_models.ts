// The loaded Stable Diffusion models as the tasks see them (TaskModels): prompt encoding, the noise model for
// the sampler, and the latent codec (VAE with SD's latent scaling) for constraints.
import type { GpuContext } from '../gpu/context.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { scale } from '../kernels/elementwise.js';
import type { StableDiffusionModel } from './load_pipeline.js';
import type { LatentCodec } from '../sampler/constraints/latent_codec.js';
import type { NoiseModel } from '../sampler/guidance.js';
import type { NoiseModelVjp, TaskModels } from './tasks.js';
import { decoderGradient } from '../vae/vjp/index.js';

export function taskModels(ctx: GpuContext, sd: StableDiffusionModel): TaskModels {
  const { unet, vae, text_encoder: te, tokenizer } = sd;
  if (!unet || !vae || !te || !tokenizer) throw new Error(`${sd.name}: a task needs the tokenizer, text encoder, UNet and VAE`);
  const sf = sd.configs.vae.scalingFactor;
  const embCache = new Map<string, Float32Array>();

  const noiseModel: NoiseModel = async (x, t, context) => unet.forward(ctx, x, Array(x.shape[0]).fill(t), context);
  const noiseModelVjp: NoiseModelVjp = async (x, t, context, u) => unet.vjp(ctx, x, Array(x.shape[0]).fill(t), context, u);

  const codec: LatentCodec = {
    scalingFactor: sf,
    factor: vae.downFactor,
    async decode(c, z) {
      const zs = scale(c, z, 1 / sf);                     // vae.decode(z / 0.18215)
      const img = vae.decode(c, zs);
      c.release(zs);
      return img;
    },
    async encode(c, image) {
      const { mean, logvar } = vae.encode(c, image);      // encoder mean, no sampling
      const z = scale(c, mean, sf);
      c.release(mean, logvar);
      return z;
    },
    async decodeGradient(c, z, uOf) {
      // decode(z) = D(z / sf): (d/dz)^T u = D^T u / sf (src/vae/vjp)
      const zs = scale(c, z, 1 / sf);
      const g = await decoderGradient(c, vae, zs, uOf);
      const out = scale(c, g, 1 / sf);
      c.release(zs, g);
      return out;
    },
  };

  return {
    id: `${sd.name}|${sd.weightDtype}`,
    codec,
    latentChannels: sd.configs.unet.in_channels,
    noiseModel,
    noiseModelVjp,
    async encodePrompts(c: GpuContext, prompts: string[]): Promise<GpuTensor> {
      // Embeddings of a prompt never change: keep them on the host and re-upload (cheap).
      const ids = prompts.map((p) => tokenizer.encode(p).inputIds);
      const key = JSON.stringify(ids);
      const hit = embCache.get(key);
      const C = sd.configs.text_encoder.hiddenSize;
      if (hit) return c.upload(hit, [prompts.length, ids[0]!.length, C]);
      const out = te.forward(c, ids);
      // cache only embeddings made with every kernel variant chosen (a discovery pass computes
      // with provisional ones, and its results must not leak into the run)
      if (c.variants.frozen) embCache.set(key, await c.read(out.last_hidden_state));
      c.release(out.pooler_output);
      return out.last_hidden_state;
    },
  };
}
