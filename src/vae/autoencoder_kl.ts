// diffusers models/autoencoders/autoencoder_kl.py::AutoencoderKL, SD 1.x path.
//   encode: moments = quant_conv(encoder(x)); mean, logvar = chunk(moments, 2, dim=1);
//           logvar = clamp(logvar, -30, 20)   (DiagonalGaussianDistribution)
//   decode: decoder(post_quant_conv(z))      (no 1/scaling_factor and no clamp: the pipeline's job)
// Activations larger than one storage binding are processed as channel chunks
// (channel_chunks.ts); batches whose activations need splitting run one sample at a time.
import type { GpuContext } from '../gpu/context.js';
import { check, DTYPE_BYTES, shapeStr, type GpuTensor } from '../gpu/tensor.js';
import { clamp } from '../kernels/elementwise.js';
import { Conv2d } from '../nn/conv2d.js';
import { loadModel, weightDtypeOf, type ParamOptions } from '../nn/param.js';
import { tapped, type Tap } from '../nn/tap.js';
import type { Weights } from '../weights/weights.js';
import { sliceChannels, splitPlan, type SplitPlan } from '../nn/channel_chunks.js';
import type { AutoencoderKLConfig } from './config.js';
import { Decoder } from './decoder.js';
import { Encoder } from './encoder.js';
import { decoderVjp } from './vjp/decoder_vjp.js';

export interface AutoencoderKLOptions extends ParamOptions {
  /** fail on checkpoint keys the model does not use (default true) */
  strict?: boolean;
  /**
   * Largest activation part in bytes; default: the device's maxStorageBufferBindingSize (and
   * maxBufferSize). Smaller values force channel chunking (tests compare it with unsplit runs).
   */
  maxChunkBytes?: number;
}

export interface LatentMoments {
  /** [N, latent_channels, h, w] */
  mean: GpuTensor;
  /** [N, latent_channels, h, w], clamped to [-30, 20] */
  logvar: GpuTensor;
}

export class AutoencoderKL {
  /** Binding budget of one activation part; may be lowered at run time (tests). */
  maxChunkBytes: number;

  private constructor(readonly encoder: Encoder, readonly decoder: Decoder, readonly quant_conv: Conv2d,
                      readonly post_quant_conv: Conv2d, readonly config: AutoencoderKLConfig,
                      private readonly bindingLimit: number) {
    this.maxChunkBytes = bindingLimit;
  }

  /**
   * Builds the model from `w` (the diffusers `vae/` tree, legacy attention names already renamed)
   * and its parsed config, uploading every weight in one pass; unused or missing keys fail.
   */
  static async load(ctx: GpuContext, w: Weights, config: AutoencoderKLConfig, opts: AutoencoderKLOptions = {}): Promise<AutoencoderKL> {
    const o = { ...opts, weightDtype: weightDtypeOf(ctx, opts) };
    return loadModel(ctx, w, o, (po) => AutoencoderKL.build(ctx, w, config, { ...o, ...po }), opts.strict ?? true);
  }

  private static async build(ctx: GpuContext, w: Weights, config: AutoencoderKLConfig, opts: AutoencoderKLOptions): Promise<AutoencoderKL> {
    const L = config.latentChannels;
    const [encoder, decoder, quant_conv, post_quant_conv] = await Promise.all([
      Encoder.load(ctx, w.at('encoder'), config, opts),
      Decoder.load(ctx, w.at('decoder'), config, opts),
      Conv2d.load(ctx, w.at('quant_conv'), 2 * L, 2 * L, 1, opts),
      Conv2d.load(ctx, w.at('post_quant_conv'), L, L, 1, opts),
    ]);
    const limit = Math.min(ctx.limits.maxStorageBufferBindingSize, ctx.limits.maxBufferSize);
    const vae = new AutoencoderKL(encoder, decoder, quant_conv, post_quant_conv, config, limit);
    if (opts.maxChunkBytes !== undefined) vae.maxChunkBytes = opts.maxChunkBytes;
    return vae;
  }

  /** Spatial downsampling factor between image and latent (8 for SD). */
  get downFactor(): number {
    return 2 ** (this.config.blockOutChannels.length - 1);
  }

  /** The binding budget actually used: maxChunkBytes, never above what the device allows. */
  get chunkBudget(): number {
    return Math.min(this.maxChunkBytes, this.bindingLimit);
  }

  private plan(): SplitPlan {
    return splitPlan(this.config.normNumGroups, this.chunkBudget);
  }

  /** Largest activation, in f32 bytes, of an encode (image H x W) or decode (latent h x w) of N samples. */
  private largestActivation(N: number, H: number, W: number, which: 'encode' | 'decode'): number {
    const boc = this.config.blockOutChannels;
    let most = 0;
    if (which === 'encode') {
      boc.forEach((c, i) => {
        const s = 2 ** i, prev = i === 0 ? boc[0]! : boc[i - 1]!;
        most = Math.max(most, Math.max(c, prev) * Math.ceil(H / s) * Math.ceil(W / s));
      });
    } else {
      const rev = [...boc].reverse();
      rev.forEach((c, i) => {
        const s = 2 ** i, prev = i === 0 ? rev[0]! : rev[i - 1]!;
        most = Math.max(most, Math.max(c, prev) * H * s * W * s);
        if (i < rev.length - 1) most = Math.max(most, c * H * 2 * s * W * 2 * s); // upsampled copy
      });
    }
    return N * most * 4;
  }

  /** Runs `fn` per sample when the whole batch would need split activations (bounds memory too). */
  private perSample(ctx: GpuContext, x: GpuTensor, which: 'encode' | 'decode',
                    fn: (xs: GpuTensor) => GpuTensor[]): GpuTensor[] {
    const [N, , H, W] = x.shape as [number, number, number, number];
    if (N === 1 || this.largestActivation(N, H, W, which) <= this.chunkBudget) return fn(x);
    const sampleBytes = (x.size / N) * DTYPE_BYTES[x.dtype];
    let outs: GpuTensor[] | null = null;
    for (let n = 0; n < N; n++) {
      const xs = ctx.alloc([1, ...x.shape.slice(1)], x.dtype);
      ctx.copy(x, xs, n * sampleBytes, 0, sampleBytes);
      const ys = fn(xs);
      ctx.release(xs);
      outs ??= ys.map((y) => ctx.alloc([N, ...y.shape.slice(1)], y.dtype));
      ys.forEach((y, i) => {
        ctx.copy(y, outs![i]!, 0, n * y.byteLength, y.byteLength);
        ctx.release(y);
      });
    }
    return outs!;
  }

  /** image: [N, in_channels, H, W] in [-1, 1] -> posterior moments at [N, latent_channels, H/8, W/8]. */
  encode(ctx: GpuContext, image: GpuTensor, tap?: Tap): LatentMoments {
    check(image.shape.length === 4 && image.shape[1] === this.config.inChannels && image.dtype === 'f32',
      `AutoencoderKL.encode: image must be f32 [N, ${this.config.inChannels}, H, W], got ${image.dtype} ${shapeStr(image.shape)}`);
    const f = this.downFactor;
    check(image.shape[2]! % f === 0 && image.shape[3]! % f === 0,
      `AutoencoderKL.encode: image size ${image.shape[2]}x${image.shape[3]} must be a multiple of ${f}`);
    const L = this.config.latentChannels;
    const plan = this.plan();
    const [mean, logvar] = this.perSample(ctx, image, 'encode', (x) => {
      const h = ctx.within('encoder', () => this.encoder.forward(ctx, x, plan, tap));
      const moments = tapped(ctx, tap, 'quant_conv', () => this.quant_conv.forward(ctx, h));
      ctx.release(h);
      const m = sliceChannels(ctx, moments, 0, L);
      const lv = sliceChannels(ctx, moments, L, L);
      ctx.release(moments);
      return [m, clamp(ctx, lv, -30, 20, lv)];
    });
    return { mean: mean!, logvar: logvar! };
  }

  /** latent: [N, latent_channels, h, w] (already divided by scaling_factor) -> image [N, out_channels, 8h, 8w]. */
  decode(ctx: GpuContext, latent: GpuTensor, tap?: Tap): GpuTensor {
    check(latent.shape.length === 4 && latent.shape[1] === this.config.latentChannels && latent.dtype === 'f32',
      `AutoencoderKL.decode: latent must be f32 [N, ${this.config.latentChannels}, h, w], got ${latent.dtype} ${shapeStr(latent.shape)}`);
    const plan = this.plan();
    const [image] = this.perSample(ctx, latent, 'decode', (z) => {
      const h = tapped(ctx, tap, 'post_quant_conv', () => this.post_quant_conv.forward(ctx, z));
      const y = ctx.within('decoder', () => this.decoder.forward(ctx, h, plan, tap));
      ctx.release(h);
      return [y];
    });
    return image!;
  }

  /** D^T u w.r.t. `latent` (decode's input, unscaled), u in image space: src/vae/vjp/. Inputs are not released. */
  decodeVjp(ctx: GpuContext, latent: GpuTensor, u: GpuTensor): GpuTensor {
    return decoderVjp(ctx, this, latent, u);
  }

  destroy(ctx: GpuContext): void {
    this.encoder.destroy(ctx);
    this.decoder.destroy(ctx);
    this.quant_conv.destroy(ctx);
    this.post_quant_conv.destroy(ctx);
  }
}
