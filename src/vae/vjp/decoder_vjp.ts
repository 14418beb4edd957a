// The VAE decoder's vector-Jacobian product with respect to its latent input (ours; issue 15):
// D_z^T u for decode(z) = decoder(post_quant_conv(z)), u in image space. It is what the
// authors' super-resolution backpropagates through (arXiv 2410.18804, the official SR notebook:
// -grad_{x0} ||y - A(D(x0))||) and what our forward-only encoder pull-back (method.md decision 1)
// replaces; here it serves the DPS-style gradient baseline (src/sampler/inner/dps.ts).
//
// Memory schedule, as the UNet's (src/unet/vjp): the tape forward runs the decoder's own modules
// on whole tensors (one channel chunk, so its image is vae.decode's wherever decode needs no
// split) and keeps only each layer's INPUT; the backward walks the layers in reverse, each
// recomputing its own internals from its saved input, and frees that input as soon as it is
// walked back. Peak = the layer boundaries + one layer's internals. Every activation, and the
// mid-block attention's [L, L] scores, must fit one storage binding: decoderVjp checks this before
// any GPU work and runs a batch one sample at a time when the batch would not fit.
import type { GpuContext } from '../../gpu/context.js';
import { check, shapeStr, type GpuTensor } from '../../gpu/tensor.js';
import { conv2dBackward } from '../../kernels/conv2d_backward.js';
import { groupNormBackward } from '../../kernels/group_norm_backward.js';
import { upsampleNearestBackward } from '../../kernels/upsample_nearest_backward.js';
import { ChannelChunks, NO_SPLIT } from '../../nn/channel_chunks.js';
import type { Conv2d } from '../../nn/conv2d.js';
import type { ResnetBlock2D } from '../../nn/resnet_block_2d.js';
import { resnetVjp } from '../../unet/vjp/layer_vjp.js';
import type { AutoencoderKL } from '../autoencoder_kl.js';
import type { Upsample2D } from '../up_decoder_block_2d.js';
import { attentionVjpScoreBytes, vaeAttentionVjp } from './attention_vjp.js';

/** One recorded layer: its saved input, its output and how to take dy back to dx. */
interface Layer { name: string; x: GpuTensor; y: GpuTensor; back: (x: GpuTensor, dy: GpuTensor) => GpuTensor }

export interface DecoderTape {
  /** the decoded image at the tape's input; it belongs to the caller (release() leaves it) */
  readonly image: GpuTensor;
  /** D_z^T u for u [N, out_channels, H, W] (the image's shape); consumes the tape (call once) */
  backward(u: GpuTensor): GpuTensor;
  /** frees what the tape still holds (after backward: nothing but image) */
  release(): void;
}

/** conv: dy -> dx (the forward's geometry). */
const convBack = (ctx: GpuContext, c: Conv2d) => (x: GpuTensor, dy: GpuTensor) =>
  conv2dBackward(ctx, dy, c.weight, x.shape, { stride: c.stride, pad: c.pad });

/** Upsample2D (up_decoder_block_2d.ts): nearest 2x, then a 3x3 conv. */
const upsampleBack = (ctx: GpuContext, u: Upsample2D) => (x: GpuTensor, dy: GpuTensor) => {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const du = conv2dBackward(ctx, dy, u.conv.weight, [N, C, 2 * H, 2 * W], { stride: u.conv.stride, pad: u.conv.pad });
  const dx = upsampleNearestBackward(ctx, du);
  ctx.release(du);
  return dx;
};

/** ResnetBlock2D without a time embedding (the VAE's): the UNet VJP's resnet backward, shared. */
const resnetBack = (ctx: GpuContext, r: ResnetBlock2D) => (x: GpuTensor, dy: GpuTensor) => resnetVjp(ctx, r, x, undefined, dy);

/**
 * Runs the decode at `z` (unscaled: the input of vae.decode, [N, latent_channels, h, w], f32)
 * and records the tape. z is not released.
 */
export function recordDecoderTape(ctx: GpuContext, vae: AutoencoderKL, z: GpuTensor): DecoderTape {
  check(z.shape.length === 4 && z.shape[1] === vae.config.latentChannels && z.dtype === 'f32',
    `VAE decoder VJP: z must be f32 [N, ${vae.config.latentChannels}, h, w], got ${z.dtype} ${shapeStr(z.shape)}`);
  const dec = vae.decoder, layers: Layer[] = [];
  const run = (name: string, x: GpuTensor, fwd: (x: GpuTensor) => GpuTensor, back: Layer['back']): GpuTensor => {
    const y = ctx.within(name, () => fwd(x));
    layers.push({ name, x, y, back });
    return y;
  };
  let h = run('post_quant_conv', z, (x) => vae.post_quant_conv.forward(ctx, x), convBack(ctx, vae.post_quant_conv));
  h = run('decoder.conv_in', h, (x) => dec.conv_in.forward(ctx, x), convBack(ctx, dec.conv_in));
  const [r0, r1] = dec.mid_block.resnets, attn = dec.mid_block.attentions[0];
  h = run('mid_block.resnets.0', h, (x) => r0.forward(ctx, x), resnetBack(ctx, r0));
  h = run('mid_block.attentions.0', h, (x) => attn.forward(ctx, x, vae.chunkBudget), (x, dy) => vaeAttentionVjp(ctx, attn, x, dy));
  h = run('mid_block.resnets.1', h, (x) => r1.forward(ctx, x), resnetBack(ctx, r1));
  dec.up_blocks.forEach((b, i) => {
    b.resnets.forEach((r, j) => { h = run(`up_blocks.${i}.resnets.${j}`, h, (x) => r.forward(ctx, x), resnetBack(ctx, r)); });
    b.upsamplers.forEach((u, k) => {
      h = run(`up_blocks.${i}.upsamplers.${k}`, h, (x) => u.forward(ctx, ChannelChunks.of(x), NO_SPLIT).parts[0]!, upsampleBack(ctx, u));
    });
  });
  const gn = dec.conv_norm_out;
  h = run('conv_norm_out', h, (x) => gn.forward(ctx, x, true),
    (x, dy) => groupNormBackward(ctx, x, dy, gn.weight, gn.bias, { groups: gn.groups, eps: gn.eps, silu: true }));
  const image = run('conv_out', h, (x) => dec.conv_out.forward(ctx, x), convBack(ctx, dec.conv_out));
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    for (const l of layers) if (l.x !== z) ctx.release(l.x);   // every output but the image is a later input
  };
  return {
    image,
    release,
    backward(u: GpuTensor): GpuTensor {
      check(!released, 'VAE decoder VJP: the tape was already used or released');
      check(u.shape.length === 4 && u.shape.every((d, i) => d === image.shape[i]),
        `VAE decoder VJP: u ${shapeStr(u.shape)} must be the image's ${shapeStr(image.shape)}`);
      let dy = u;
      for (let i = layers.length - 1; i >= 0; i--) {
        const l = layers[i]!;
        const dx = ctx.within(l.name, () => ctx.scope(() => l.back(l.x, dy)));
        if (dy !== u) ctx.release(dy);
        if (l.x !== z) ctx.release(l.x);                       // walked back: its input is no longer read
        dy = dx;
      }
      released = true;
      return dy;
    },
  };
}

/** Bytes of the largest tensor one sample's tape and backward hold (f32 activations). */
function largestTensorBytes(vae: AutoencoderKL, h: number, w: number): number {
  const rev = [...vae.config.blockOutChannels].reverse();
  let most = 0;
  rev.forEach((c, i) => {
    const s = 2 ** i, prev = i === 0 ? rev[0]! : rev[i - 1]!;
    most = Math.max(most, Math.max(c, prev) * h * s * w * s);
    if (i < rev.length - 1) most = Math.max(most, c * h * 2 * s * w * 2 * s);   // the upsampled copy
  });
  return Math.max(most * 4, attentionVjpScoreBytes(1, h * w) / 2);
}

/**
 * D_z^T u at z (unscaled latent [N, C, h, w]) for u [N, out_channels, fh, fw]: one tape forward
 * and its backward. Inputs are not released. A batch whose largest tensor would not fit one
 * binding runs one sample at a time (the Jacobian is per sample: the rows do not mix).
 */
export function decoderVjp(ctx: GpuContext, vae: AutoencoderKL, z: GpuTensor, u: GpuTensor): GpuTensor {
  const [N, , h, w] = z.shape as [number, number, number, number];
  const limit = Math.min(ctx.limits.maxStorageBufferBindingSize, ctx.limits.maxBufferSize);
  const one = largestTensorBytes(vae, h, w);
  check(one <= limit,
    `VAE decoder VJP: a ${h}x${w} latent needs a ${(one / 2 ** 20).toFixed(0)} MiB tensor, over one storage binding (${(limit / 2 ** 20).toFixed(0)} MiB) of this device: use a smaller image`);
  const whole = (zs: GpuTensor, us: GpuTensor) => {
    const tape = recordDecoderTape(ctx, vae, zs);
    const g = tape.backward(us);
    ctx.release(tape.image);
    return g;
  };
  if (N === 1 || N * one <= limit) return whole(z, u);
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
