// diffusers models/unets/unet_2d_condition.py::UNet2DConditionModel, SD 1.x path.
// Every forward takes a batch: the sampler sends CFG pairs and finite-difference pairs as one batch,
// so weights are read once per step. Timesteps and conditioning are per sample.
import type { GpuContext } from '../gpu/context.js';
import { check, shapeStr, type DType, type GpuTensor } from '../gpu/tensor.js';
import { scale, unary } from '../kernels/elementwise.js';
import { Conv2d } from '../nn/conv2d.js';
import { GroupNorm } from '../nn/group_norm.js';
import { loadModel, weightDtypeOf, type ParamOptions } from '../nn/param.js';
import type { Weights } from '../weights/weights.js';
import type { BlockOptions } from './blocks.js';
import { headsOf, parseUNetConfig, type UNet2DConditionConfig } from './config.js';
import { CrossAttnDownBlock2D } from './cross_attn_down_block_2d.js';
import { CrossAttnUpBlock2D } from './cross_attn_up_block_2d.js';
import { DownBlock2D } from './down_block_2d.js';
import { TimestepEmbedding, Timesteps } from './embeddings.js';
import { normSilu } from '../nn/chunked_ops.js';
import { tapped, type Tap } from '../nn/tap.js';
import { UNetMidBlock2DCrossAttn } from './unet_mid_block_2d_cross_attn.js';
import { UpBlock2D } from './up_block_2d.js';
import { buildFusions, destroyFusions, type UNetFusions } from './fusions.js';
import { unetVjp } from './vjp/unet_vjp.js';

/**
 * Receives a copy of each module output, named like the goldens (`down_blocks.0.resnets.1.norm1`,
 * `down_blocks.0.res_samples.2`, `mid_block`, ...). The copy belongs to the callee: ctx.release it.
 */
export type CaptureFn = (name: string, t: GpuTensor) => void;

export interface UNetLoadOptions extends ParamOptions {
  /** fail on checkpoint keys the model does not use (default true) */
  strict?: boolean;
}

type DownBlock = CrossAttnDownBlock2D | DownBlock2D;
type UpBlock = CrossAttnUpBlock2D | UpBlock2D;

export class UNet2DConditionModel {
  readonly time_proj: Timesteps;
  /** load-time weight concatenations for fewer dispatches (fusions.ts) */
  private readonly fusions: UNetFusions;

  private constructor(
    ctx: GpuContext, readonly config: UNet2DConditionConfig, readonly weightDtype: DType,
    readonly time_embedding: TimestepEmbedding, readonly conv_in: Conv2d,
    readonly down_blocks: readonly DownBlock[], readonly mid_block: UNetMidBlock2DCrossAttn,
    readonly up_blocks: readonly UpBlock[], readonly conv_norm_out: GroupNorm, readonly conv_out: Conv2d,
  ) {
    this.time_proj = new Timesteps(config.block_out_channels[0]!, config.flip_sin_to_cos, config.freq_shift);
    this.fusions = buildFusions(ctx, [...down_blocks, mid_block, ...up_blocks]);
  }

  /**
   * Builds the model from a diffusers-named weight tree (`conv_in.weight`, `down_blocks.0...`) and
   * its config.json (object, parsed config, or JSON text), uploading every weight in one pass.
   */
  static async load(ctx: GpuContext, weights: Weights, config: UNet2DConditionConfig | Record<string, unknown> | string,
                    opts: UNetLoadOptions = {}): Promise<UNet2DConditionModel> {
    const cfg = parseUNetConfig(config);
    const wdt = weightDtypeOf(ctx, opts);
    return loadModel(ctx, weights, { ...opts, weightDtype: wdt }, (o) => UNet2DConditionModel.build(ctx, weights, cfg, o, wdt), opts.strict ?? true);
  }

  /**
   * sample: [B, in_channels, h, w] (any h, w), timesteps: one value per sample (a single value is
   * broadcast) or an f32 GpuTensor [B], encoderHiddenStates: [B, M, cross_attention_dim]
   * -> noise_pred [B, out_channels, h, w]. Inputs are not released.
   */
  forward(ctx: GpuContext, sample: GpuTensor, timesteps: readonly number[] | GpuTensor, encoderHiddenStates: GpuTensor,
          capture?: CaptureFn): GpuTensor {
    const cfg = this.config;
    check(sample.shape.length === 4 && sample.shape[1] === cfg.in_channels,
      `UNet2DConditionModel: sample ${shapeStr(sample.shape)}, expected [B, ${cfg.in_channels}, h, w]`);
    const B = sample.shape[0]!;
    check(encoderHiddenStates.shape.length === 3 && encoderHiddenStates.shape[0] === B &&
      encoderHiddenStates.shape[2] === cfg.cross_attention_dim,
      `UNet2DConditionModel: encoder_hidden_states ${shapeStr(encoderHiddenStates.shape)}, expected [${B}, M, ${cfg.cross_attention_dim}]`);
    const base = ctx.modulePath.length;
    const tap: Tap | undefined = capture && ((name, v) => {
      // the UNet never splits channels: a value held as chunks has exactly one part
      check(!('parts' in v) || v.parts.length === 1, `UNet capture: ${name} is split into channel chunks`);
      const t = 'parts' in v ? v.parts[0]! : v;
      // kept: the copy belongs to the callee and must outlive any ctx.scope() it was made in
      const c = ctx.keep(ctx.alloc(t.shape, t.dtype));
      ctx.copy(t, c);
      capture([...ctx.modulePath.slice(base), name].join('.'), c);
    });
    const ehs = encoderHiddenStates;

    // 0. center input
    const x = cfg.center_input_sample ? scale(ctx, sample, 2, -1) : sample;

    // 1. time (small tensors: everything but SiLU(temb) is freed when the scope ends)
    const tembAct = ctx.scope(() => {
      const t = timestepTensor(ctx, timesteps, B);
      const tp = tapped(ctx, tap, 'time_proj', () => this.time_proj.forward(ctx, t));
      if (!tap) return ctx.within('time_embedding', () => this.time_embedding.forwardSilu(ctx, tp));
      const temb = tapped(ctx, tap, 'time_embedding', () => this.time_embedding.forward(ctx, tp));
      // every resnet applies SiLU to temb before its time_emb_proj: do it once here
      return ctx.within('time_embedding', () => unary(ctx, 'silu', temb));
    });
    // every resnet's time_emb_proj in one GEMM (cached for this tembAct; the resnets read slices)
    if (!tap) ctx.within('time_emb_proj', () => this.fusions.temb.project(ctx, tembAct));

    // 2. pre-process
    let h = tapped(ctx, tap, 'conv_in', () => this.conv_in.forward(ctx, x));
    if (x !== sample) ctx.release(x);

    // 3. down: every skip tensor stays alive until the up path consumes it
    const skips: GpuTensor[] = [h];
    this.down_blocks.forEach((block, i) => {
      const name = `down_blocks.${i}`;
      const out = ctx.within(name, () => block instanceof CrossAttnDownBlock2D
        ? block.forward(ctx, h, tembAct, ehs, tap)
        : block.forward(ctx, h, tembAct, tap));
      tap?.(name, out.hidden);
      out.skips.forEach((s, j) => tap?.(`${name}.res_samples.${j}`, s));
      skips.push(...out.skips);
      h = out.hidden;
    });

    // 4. mid
    h = tapped(ctx, tap, 'mid_block', () => this.mid_block.forward(ctx, h, tembAct, ehs, tap));

    // 5. up: each block takes its layers' skips last-in-first-out and upsamples to the size of the
    //    next skip (2x when the latent is divisible by 8, exact otherwise)
    this.up_blocks.forEach((block, i) => {
      const mine = skips.splice(skips.length - block.resnets.length);
      const next = skips[skips.length - 1];
      const size = next ? [next.shape[2]!, next.shape[3]!] as const : undefined;
      const y = tapped(ctx, tap, `up_blocks.${i}`, () => block instanceof CrossAttnUpBlock2D
        ? block.forward(ctx, h, mine, tembAct, ehs, tap, size)
        : block.forward(ctx, h, mine, tembAct, tap, size));
      ctx.release(h);
      h = y;
    });
    check(skips.length === 0, `UNet2DConditionModel: ${skips.length} skip tensors left over`);

    // 6. post-process
    const n = normSilu(ctx, this.conv_norm_out, h, tap, 'conv_norm_out');
    tap?.('conv_act', n);
    ctx.release(h, tembAct);
    const out = tapped(ctx, tap, 'conv_out', () => this.conv_out.forward(ctx, n));
    ctx.release(n);
    return out;
  }

  /** J_eps^T u w.r.t. `sample` (weights, t and the context constant): src/unet/vjp/. Inputs are not released. */
  vjp(ctx: GpuContext, sample: GpuTensor, timesteps: readonly number[], encoderHiddenStates: GpuTensor, u: GpuTensor): GpuTensor {
    return unetVjp(ctx, this, sample, timesteps, encoderHiddenStates, u);
  }

  private static async build(ctx: GpuContext, w: Weights, cfg: UNet2DConditionConfig, o: ParamOptions, weightDtype: DType): Promise<UNet2DConditionModel> {
    const ch = cfg.block_out_channels;
    const n = ch.length;
    const tembChannels = 4 * ch[0]!;
    const blockOpts = (heads: number): BlockOptions => ({
      ...o, groups: cfg.norm_num_groups, eps: cfg.norm_eps, tembChannels, heads,
      crossAttentionDim: cfg.cross_attention_dim, transformerLayers: cfg.transformer_layers_per_block ?? 1,
    });
    const L = cfg.layers_per_block;
    const downs = cfg.down_block_types.map((type, i) => {
      const args = [ctx, w.at('down_blocks', i), i === 0 ? ch[0]! : ch[i - 1]!, ch[i]!, L, i < n - 1, cfg.downsample_padding, blockOpts(headsOf(cfg, i))] as const;
      return type === 'CrossAttnDownBlock2D' ? CrossAttnDownBlock2D.load(...args) : DownBlock2D.load(...args);
    });
    const rev = [...ch].reverse();
    const ups = cfg.up_block_types.map((type, i) => {
      const args = [ctx, w.at('up_blocks', i), rev[Math.min(i + 1, n - 1)]!, rev[Math.max(i - 1, 0)]!, rev[i]!, L + 1, i < n - 1,
        blockOpts(headsOf(cfg, n - 1 - i))] as const;
      return type === 'CrossAttnUpBlock2D' ? CrossAttnUpBlock2D.load(...args) : UpBlock2D.load(...args);
    });
    const [time_embedding, conv_in, mid_block, conv_norm_out, conv_out, down_blocks, up_blocks] = await Promise.all([
      TimestepEmbedding.load(ctx, w.at('time_embedding'), ch[0]!, tembChannels, o),
      Conv2d.load(ctx, w.at('conv_in'), cfg.in_channels, ch[0]!, 3, { ...o, pad: 1 }),
      UNetMidBlock2DCrossAttn.load(ctx, w.at('mid_block'), ch[n - 1]!, blockOpts(headsOf(cfg, n - 1))),
      GroupNorm.load(ctx, w.at('conv_norm_out'), ch[0]!, { ...o, groups: cfg.norm_num_groups, eps: cfg.norm_eps }),
      Conv2d.load(ctx, w.at('conv_out'), ch[0]!, cfg.out_channels, 3, { ...o, pad: 1 }),
      Promise.all(downs),
      Promise.all(ups),
    ] as const);
    return new UNet2DConditionModel(ctx, cfg, weightDtype, time_embedding, conv_in, down_blocks, mid_block, up_blocks, conv_norm_out, conv_out);
  }

  /**
   * Frees the cached projections (cross-attention K/V per context tensor, the time-embedding
   * projection); the next forward recomputes them. destroy() frees them too.
   */
  clearCaches(ctx: GpuContext): void {
    this.fusions.temb.clear(ctx);
    this.fusions.crossKV?.clear(ctx);
  }

  destroy(ctx: GpuContext): void {
    destroyFusions(ctx, this.fusions);
    this.time_embedding.destroy(ctx);
    this.conv_in.destroy(ctx);
    for (const b of this.down_blocks) b.destroy(ctx);
    this.mid_block.destroy(ctx);
    for (const b of this.up_blocks) b.destroy(ctx);
    this.conv_norm_out.destroy(ctx);
    this.conv_out.destroy(ctx);
  }
}

/** Timesteps as an f32 GpuTensor [B] (returned as is when given as one). */
function timestepTensor(ctx: GpuContext, timesteps: readonly number[] | GpuTensor, B: number): GpuTensor {
  if (!Array.isArray(timesteps)) {
    const t = timesteps as GpuTensor;
    check(t.dtype === 'f32' && t.size === B, `UNet2DConditionModel: timesteps tensor ${shapeStr(t.shape)} ${t.dtype}, expected f32 [${B}]`);
    return t.shape.length === 1 ? t : t.view([B]);
  }
  const ts = timesteps as readonly number[];
  check(ts.length === B || ts.length === 1, `UNet2DConditionModel: ${ts.length} timesteps for a batch of ${B}`);
  check(ts.every((v) => Number.isFinite(v)), `UNet2DConditionModel: timesteps must be finite (got ${ts.join(', ')})`);
  return ctx.upload(Float32Array.from({ length: B }, (_, i) => ts[ts.length === 1 ? 0 : i]!), [B]);
}
