// The VAE decoder's vector-Jacobian product with respect to its latent input (ours; issue 15):
// D_z^T u for decode(z) = decoder(post_quant_conv(z)), u in image space. It is what the
// authors' super-resolution backpropagates through (arXiv 2410.18804, the official SR notebook:
// -grad_{x0} ||y - A(D(x0))||) and what our forward-only encoder pull-back (method.md decision 1)
// replaces; here it serves the DPS-style gradient baseline (src/sampler/inner/dps.ts).
//
// Memory schedule, as the UNet's (src/unet/vjp): the tape forward runs the decoder's own chunked
// modules with vae.decode's split plan (so its image is vae.decode's) and keeps only each layer's
// INPUT, as ChannelChunks; the backward walks the layers in reverse, each recomputing its own
// internals from its saved input, and frees that input as soon as it is walked back. Peak = the
// layer boundaries + one layer's internals.
// Channel chunks (ours, as the forward's: src/nn/channel_chunks.ts): a 64 x 64 latent (512 x 512,
// SD 1.4's size) has [1, 256, 512, 512] activations, 256 MiB in f32, over the 128 MiB storage
// binding of many devices. Every layer's backward works per part (chunked_vjp.ts: a conv's input
// gradient sums over its output-gradient parts and writes input parts, GroupNorm's backward runs
// per part because parts hold whole groups, nearest upsampling per part); only what does not fit
// one binding is split, so wherever the forward needs no split the VJP is the whole-tensor one
// (same kernels, same numbers). The mid-block attention stays whole: it runs at the latent
// resolution, and its [L, L] scores (64 MiB at 64 x 64) must fit one binding. decoderVjp checks
// all this before any GPU work and runs a batch one sample at a time when it would need splits.
import type { GpuContext } from '../../gpu/context.js';
import { check, shapeStr, type GpuTensor } from '../../gpu/tensor.js';
import { ChannelChunks, mergeChunks, resplit, splitPlan, type SplitPlan } from '../../nn/channel_chunks.js';
import { conv2dChunks, groupNormChunks } from '../../nn/chunked_ops.js';
import type { Conv2d } from '../../nn/conv2d.js';
import type { AutoencoderKL } from '../autoencoder_kl.js';
import type { VaeAttention } from '../unet_mid_block_2d.js';
import { attentionVjpScoreBytes, vaeAttentionVjp } from './attention_vjp.js';
import { convVjpChunks, normVjpChunks, resnetVjpChunks, upsampleVjpChunks } from './chunked_vjp.js';

/** One recorded layer: its saved input, its output and how to take dy back to dx (each split as the forward split it). */
interface Layer { name: string; x: ChannelChunks; y: ChannelChunks; back: (x: ChannelChunks, dy: ChannelChunks) => ChannelChunks }

export interface DecoderTape {
  /** the decoded image at the tape's input; it belongs to the caller (release() leaves it) */
  readonly image: GpuTensor;
  /** the most channel parts any saved activation was split into (1: nothing split; tests, benches) */
  readonly maxParts: number;
  /** D_z^T u for u [N, out_channels, H, W] (the image's shape); consumes the tape (call once) */
  backward(u: GpuTensor): GpuTensor;
  /** frees what the tape still holds (after backward: nothing but image) */
  release(): void;
}

/**
 * The mid-block attention as UNetMidBlock2D.forward runs it: merged into one tensor (it runs at
 * the latent resolution, where it fits), the output split by the plan. Its backward likewise.
 */
function attentionLayer(ctx: GpuContext, a: VaeAttention, plan: SplitPlan) {
  const whole = (x: ChannelChunks, fn: (t: GpuTensor) => GpuTensor, sizes: readonly number[]) => {
    const t = mergeChunks(ctx, x);
    const y = ChannelChunks.of(fn(t));
    if (t !== x.parts[0]) ctx.release(t);
    const split = resplit(ctx, y, sizes);
    if (split !== y) y.release(ctx);
    return split;
  };
  return {
    fwd: (x: ChannelChunks) => whole(x, (t) => a.forward(ctx, t, plan.budget), plan(x.shape)),
    back: (x: ChannelChunks, dy: ChannelChunks) => whole(dy, (d) => {
      const xt = mergeChunks(ctx, x);
      const dx = vaeAttentionVjp(ctx, a, xt, d);
      if (xt !== x.parts[0]) ctx.release(xt);
      return dx;
    }, x.sizes),
  };
}

/**
 * Runs the decode at `z` (unscaled: the input of vae.decode, [N, latent_channels, h, w], f32)
 * and records the tape, every activation split as vae.decode splits it (vae.chunkBudget). z is
 * not released.
 */
export function recordDecoderTape(ctx: GpuContext, vae: AutoencoderKL, z: GpuTensor): DecoderTape {
  check(z.shape.length === 4 && z.shape[1] === vae.config.latentChannels && z.dtype === 'f32',
    `VAE decoder VJP: z must be f32 [N, ${vae.config.latentChannels}, h, w], got ${z.dtype} ${shapeStr(z.shape)}`);
  const dec = vae.decoder, layers: Layer[] = [], plan = splitPlan(vae.config.normNumGroups, vae.chunkBudget);
  const z0 = ChannelChunks.of(z);
  const run = (name: string, x: ChannelChunks, fwd: (x: ChannelChunks) => ChannelChunks, back: Layer['back']): ChannelChunks => {
    const y = ctx.within(name, () => fwd(x));
    layers.push({ name, x, y, back });
    return y;
  };
  // conv_in's output is split by the plan; post_quant_conv's (latent) and conv_out's (image) never are
  const conv = (name: string, c: Conv2d, x: ChannelChunks, out = plan([x.N, c.outChannels, x.H, x.W])) =>
    run(name, x, (xx) => conv2dChunks(ctx, c, xx, out), (xx, dy) => convVjpChunks(ctx, c, xx, dy));
  let h = conv('post_quant_conv', vae.post_quant_conv, z0, [vae.post_quant_conv.outChannels]);
  h = conv('decoder.conv_in', dec.conv_in, h);
  const [r0, r1] = dec.mid_block.resnets, attn = attentionLayer(ctx, dec.mid_block.attentions[0], plan);
  h = run('mid_block.resnets.0', h, (x) => r0.forwardChunks(ctx, x, plan), (x, dy) => resnetVjpChunks(ctx, r0, x, dy, plan));
  h = run('mid_block.attentions.0', h, attn.fwd, attn.back);
  h = run('mid_block.resnets.1', h, (x) => r1.forwardChunks(ctx, x, plan), (x, dy) => resnetVjpChunks(ctx, r1, x, dy, plan));
  dec.up_blocks.forEach((b, i) => {
    b.resnets.forEach((r, j) => {
      h = run(`up_blocks.${i}.resnets.${j}`, h, (x) => r.forwardChunks(ctx, x, plan), (x, dy) => resnetVjpChunks(ctx, r, x, dy, plan));
    });
    b.upsamplers.forEach((u, k) => {
      h = run(`up_blocks.${i}.upsamplers.${k}`, h, (x) => u.forward(ctx, x, plan), (x, dy) => upsampleVjpChunks(ctx, u, x, dy));
    });
  });
  const gn = dec.conv_norm_out;
  h = run('conv_norm_out', h, (x) => groupNormChunks(ctx, gn, x, true), (x, dy) => normVjpChunks(ctx, gn, x, dy, true));
  const image = conv('conv_out', dec.conv_out, h, [dec.conv_out.outChannels]).parts[0]!;
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    for (const l of layers) if (l.x !== z0) l.x.release(ctx);   // every output but the image is a later input
  };
  return {
    image,
    maxParts: Math.max(...layers.map((l) => Math.max(l.x.parts.length, l.y.parts.length))),
    release,
    backward(u: GpuTensor): GpuTensor {
      check(!released, 'VAE decoder VJP: the tape was already used or released');
      check(u.shape.length === 4 && u.shape.every((d, i) => d === image.shape[i]),
        `VAE decoder VJP: u ${shapeStr(u.shape)} must be the image's ${shapeStr(image.shape)}`);
      const u0 = ChannelChunks.of(u);
      let dy = u0;
      for (let i = layers.length - 1; i >= 0; i--) {
        const l = layers[i]!;
        // the scope keeps the returned parts (an array of tensors) and frees anything left inside
        const dx = new ChannelChunks(ctx.within(l.name, () => ctx.scope(() => [...l.back(l.x, dy).parts])));
        if (dy !== u0) dy.release(ctx);
        if (l.x !== z0) l.x.release(ctx);                      // walked back: its input is no longer read
        dy = dx;
      }
      released = true;
      return dy.parts[0]!;                                     // z's gradient: the latent is one part
    },
  };
}

/** Every activation shape of one sample's decode at a latent h x w (the tape's and the backward's). */
function activationShapes(vae: AutoencoderKL, h: number, w: number): number[][] {
  const cfg = vae.config, rev = [...cfg.blockOutChannels].reverse(), f = vae.downFactor;
  const shapes = [[1, cfg.latentChannels, h, w], [1, cfg.outChannels, h * f, w * f]];
  rev.forEach((c, i) => {
    const s = 2 ** i, prev = i === 0 ? rev[0]! : rev[i - 1]!;
    shapes.push([1, prev, h * s, w * s], [1, c, h * s, w * s]);
    if (i < rev.length - 1) shapes.push([1, c, h * 2 * s, w * 2 * s]);   // the upsampled copy
  });
  return shapes;
}

/**
 * Checks, before any GPU work, that one sample's VJP at a latent h x w fits this device: every
 * activation has a channel split into parts of at most `budget` bytes holding whole groups
 * (the forward's planChannelSplit), and the attention's [L, L] scores fit one binding (`limit`;
 * they are not split). Returns the largest single tensor's bytes, unsplit (f32 activation or scores).
 */
export function checkDecoderVjpFits(vae: AutoencoderKL, h: number, w: number, budget: number, limit: number): number {
  const plan = splitPlan(vae.config.normNumGroups, budget);
  let most = 0;
  for (const s of activationShapes(vae, h, w)) {
    try { plan(s); } catch (e) { throw new Error(`VAE decoder VJP at a ${h}x${w} latent: ${(e as Error).message}`); }
    most = Math.max(most, s.reduce((a, b) => a * b) * 4);
  }
  const scores = attentionVjpScoreBytes(1, h * w) / 2;
  check(scores <= limit,
    `VAE decoder VJP: a ${h}x${w} latent's attention scores need ${(scores / 2 ** 20).toFixed(0)} MiB, over one storage binding (${(limit / 2 ** 20).toFixed(0)} MiB) of this device: use a smaller image`);
  return Math.max(most, scores);
}

/**
 * D_z^T u at z (unscaled latent [N, C, h, w]) for u [N, out_channels, fh, fw]: one tape forward
 * and its backward. Inputs are not released. As vae.decode: a batch whose largest activation
 * fits one binding runs whole and unsplit; otherwise one sample at a time (the Jacobian is per
 * sample: the rows do not mix), each on channel chunks where a tensor exceeds vae.chunkBudget.
 */
export function decoderVjp(ctx: GpuContext, vae: AutoencoderKL, z: GpuTensor, u: GpuTensor): GpuTensor {
  const N = z.shape[0];
  const whole = (zs: GpuTensor, us: GpuTensor) => {
    const tape = recordDecoderTape(ctx, vae, zs);
    const g = tape.backward(us);
    ctx.release(tape.image);
    return g;
  };
  if (runsWhole(ctx, vae, z)) return whole(z, u);
  const out = ctx.alloc(z.shape, z.dtype);
  const zBytes = z.byteLength / N, uBytes = u.byteLength / N;
  for (let n = 0; n < N; n++) {
    ctx.scope(() => {
      const zs = ctx.alloc([1, ...z.shape.slice(1)], z.dtype), us = ctx.alloc([1, ...u.shape.slice(1)], u.dtype);
      ctx.copy(z, zs, n * zBytes, 0, zBytes);
      ctx.copy(u, us, n * uBytes, 0, uBytes);
      ctx.copy(whole(zs, us), out, 0, n * zBytes, zBytes);
    });
  }
  return out;
}

/** Whether a batch's VJP runs as one tape (checked to fit first): one sample, or a batch whose largest activation fits one chunk. */
function runsWhole(ctx: GpuContext, vae: AutoencoderKL, z: GpuTensor): boolean {
  const [N, , h, w] = z.shape as [number, number, number, number];
  const limit = Math.min(ctx.limits.maxStorageBufferBindingSize, ctx.limits.maxBufferSize);
  const one = checkDecoderVjpFits(vae, h, w, vae.chunkBudget, limit);
  return N === 1 || N * one <= vae.chunkBudget;
}

/**
 * D_z^T uOf(D(z)): the gradient of a loss on the decoded image, where u depends on the image (a
 * constraint's pixel error). One tape forward gives the image u is computed from and the
 * backward, so the image is decoded once, not once for u and again for the VJP's tape. A batch
 * that needs per-sample tapes decodes it whole first, then runs decoderVjp. Inputs are not
 * released; neither is the image uOf sees (it belongs to this function), nor u (released here).
 */
export async function decoderGradient(ctx: GpuContext, vae: AutoencoderKL, z: GpuTensor,
                                      uOf: (image: GpuTensor) => Promise<GpuTensor>): Promise<GpuTensor> {
  if (!runsWhole(ctx, vae, z)) {
    const image = vae.decode(ctx, z);
    const u = await uOf(image);
    ctx.release(image);
    const g = decoderVjp(ctx, vae, z, u);
    ctx.release(u);
    return g;
  }
  const tape = recordDecoderTape(ctx, vae, z);
  try {
    const u = await uOf(tape.image);
    const g = tape.backward(u);
    ctx.release(u);
    return g;
  } finally {
    tape.release();
    ctx.release(tape.image);
  }
}
