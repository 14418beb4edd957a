// Outputs of every weight-carrying part of a loaded model on fixed inputs: text embeddings of two
// prompts, a CFG-style UNet batch, VAE encode and decode. Two loads of the same weights (a folder
// and a single file, with or without configs) must give identical values here.
import { expect } from 'vitest';
import type { GpuContext } from '../../src/gpu/context.js';
import type { StableDiffusionModel } from '../../src/pipeline/load_pipeline.js';
import { Rng } from '../../src/util/rng.js';

export function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/**
 * `ids`: token ids of the two prompts (uncond, cond). `S`: latent size (default the UNet's
 * sample_size; tests on a CPU adapter pass a small one).
 */
export async function modelOutputs(ctx: GpuContext, m: StableDiffusionModel, ids: readonly (readonly number[])[],
                                   S = m.configs.unet.sample_size ?? 8): Promise<Record<string, Float32Array>> {
  const C = m.configs.unet.in_channels ?? 4;
  const te = m.text_encoder!.forward(ctx, ids);
  const rng = new Rng(11);
  const x = ctx.upload(rng.normals(2 * C * S * S), [2, C, S, S]);
  const eps = m.unet!.forward(ctx, x, [981, 301], te.last_hidden_state);
  const factor = m.vae!.downFactor;
  const img = ctx.upload(rng.normals(3 * (S * factor) ** 2).map((v) => Math.tanh(v)), [1, 3, S * factor, S * factor]);
  const moments = m.vae!.encode(ctx, img);
  const z = ctx.upload(rng.normals(C * S * S), [1, C, S, S]);
  const dec = m.vae!.decode(ctx, z);
  const res = {
    prompt_embeds: await ctx.read(te.last_hidden_state), eps: await ctx.read(eps),
    mean: await ctx.read(moments.mean), logvar: await ctx.read(moments.logvar), decoded: await ctx.read(dec),
  };
  ctx.release(te.last_hidden_state, te.pooler_output, x, eps, img, moments.mean, moments.logvar, z, dec);
  return res;
}

/** Asserts two models give bit-identical outputs (same weights, same kernels), logging each diff. */
export async function expectSameOutputs(ctx: GpuContext, a: StableDiffusionModel, b: StableDiffusionModel,
                                        ids: readonly (readonly number[])[], S?: number): Promise<void> {
  const [oa, ob] = [await modelOutputs(ctx, a, ids, S), await modelOutputs(ctx, b, ids, S)];
  for (const k of Object.keys(oa)) {
    const d = maxDiff(ob[k]!, oa[k]!);
    console.log(`${k}: ${oa[k]!.length} values, max |${b.kind} - ${a.kind}| = ${d}`);
    expect(oa[k]!.every(Number.isFinite), `${k} finite`).toBe(true);
    expect(d, k).toBe(0);
  }
}
