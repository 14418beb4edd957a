// The UNet's vector-Jacobian product J_eps^T u with respect to the latent input (ours; issue 15):
// what gradient methods (DPS and relatives, arXiv 2410.18804's baselines) need and the paper's
// method avoids. Weights, the timestep and the text context are constants.
//
// Memory schedule (per-layer checkpointing): the tape forward runs the model's own modules
// (so its eps is unet.forward's, bit for bit) and keeps only each layer's INPUT — the tensors
// between resnets, transformers and samplers, most of which are the up path's skips anyway.
// The backward walks the layers in reverse; each layer recomputes its own internals from its
// saved input, backpropagates, and frees them before the next: peak = layer boundaries + one
// layer's internals, instead of every intermediate of the network (autograd's schedule). Each
// boundary is freed as soon as its layer is walked back. Cost: the tape forward, one more
// forward's worth of recomputation, and the input-gradient kernels.
import type { GpuContext } from '../../gpu/context.js';
import { check, shapeStr, type GpuTensor } from '../../gpu/tensor.js';
import { concatChannels } from '../../kernels/concat.js';
import { splitChannels } from '../../kernels/concat_backward.js';
import { add, scale, unary } from '../../kernels/elementwise.js';
import type { Conv2d } from '../../nn/conv2d.js';
import type { GroupNorm } from '../../nn/group_norm.js';
import type { ResnetBlock2D } from '../../nn/resnet_block_2d.js';
import type { Downsample2D } from '../downsample_2d.js';
import type { Transformer2DModel } from '../transformer_2d.js';
import type { UNet2DConditionModel } from '../unet_2d_condition.js';
import type { Upsample2D } from '../upsample_2d.js';
import { convVjp, downsampleVjp, normVjp, resnetVjp, upsampleVjp } from './layer_vjp.js';
import { transformer2dVjp } from './transformer_vjp.js';

/** One recorded layer: its module, saved input(s) and output. `skip`: the input is cat([x, skip]). */
type Op =
  | { kind: 'conv'; m: Conv2d; x: GpuTensor; y: GpuTensor }
  | { kind: 'norm_silu'; m: GroupNorm; x: GpuTensor; y: GpuTensor }
  | { kind: 'resnet'; m: ResnetBlock2D; x: GpuTensor; skip?: GpuTensor; tproj?: GpuTensor; y: GpuTensor }
  | { kind: 'transformer'; m: Transformer2DModel; x: GpuTensor; y: GpuTensor }
  | { kind: 'down'; m: Downsample2D; x: GpuTensor; y: GpuTensor }
  | { kind: 'up'; m: Upsample2D; x: GpuTensor; y: GpuTensor };

export interface UNetTape {
  /** noise_pred at the tape's input; it belongs to the caller (release() leaves it) */
  readonly eps: GpuTensor;
  /** J_eps^T u for u [B, out_channels, h, w]; consumes the tape (call once) */
  backward(u: GpuTensor): GpuTensor;
  /** frees what the tape still holds (after backward: nothing but eps) */
  release(): void;
}

/**
 * Runs the forward at `sample` and records the tape. sample: [B, 4, h, w] (h, w multiples of 8),
 * timesteps: one per sample or one for all, context: [B, M, cross_attention_dim]. Inputs are not released.
 */
export function recordUNetTape(ctx: GpuContext, unet: UNet2DConditionModel, sample: GpuTensor,
                               timesteps: readonly number[], context: GpuTensor): UNetTape {
  const cfg = unet.config;
  check(sample.shape.length === 4 && sample.shape[1] === cfg.in_channels, `UNet VJP: sample ${shapeStr(sample.shape)}`);
  const B = sample.shape[0]!;
  check(timesteps.length === B || timesteps.length === 1, `UNet VJP: ${timesteps.length} timesteps for a batch of ${B}`);
  const ops: Op[] = [];
  const owned = new Set<GpuTensor>();   // everything the tape allocated (but eps), freed as walked back or at the end
  const keep = <T extends GpuTensor>(t: T) => { owned.add(t); return t; };

  // 0./1. input and the time embedding (constants of x): SiLU(temb), then each resnet's projection
  const x = cfg.center_input_sample ? keep(scale(ctx, sample, 2, -1)) : sample;
  const tembAct = ctx.scope(() => {
    const t = ctx.upload(Float32Array.from({ length: B }, (_, i) => timesteps[timesteps.length === 1 ? 0 : i]!), [B]);
    const temb = unet.time_embedding.forward(ctx, unet.time_proj.forward(ctx, t));
    return unary(ctx, 'silu', temb);
  });
  keep(tembAct);
  const resnet = (r: ResnetBlock2D, h: GpuTensor, skip?: GpuTensor): GpuTensor => {
    const input = skip ? concatChannels(ctx, h, skip) : h;
    const y = keep(r.forward(ctx, input, tembAct));
    if (input !== h) ctx.release(input);                    // recomputed in the backward
    const tproj = r.time_emb_proj ? keep(r.time_emb_proj.forward(ctx, tembAct)) : undefined;
    ops.push({ kind: 'resnet', m: r, x: h, skip, tproj, y });
    return y;
  };
  const transformer = (m: Transformer2DModel, h: GpuTensor): GpuTensor => {
    const y = keep(m.forward(ctx, h, context));
    ops.push({ kind: 'transformer', m, x: h, y });
    return y;
  };

  // 2. conv_in
  let h = keep(unet.conv_in.forward(ctx, x));
  ops.push({ kind: 'conv', m: unet.conv_in, x, y: h });
  // 3. down
  const skips: GpuTensor[] = [h];
  for (const block of unet.down_blocks) {
    const attns = 'attentions' in block ? block.attentions : [];
    block.resnets.forEach((r, j) => {
      h = resnet(r, h);
      if (attns[j]) h = transformer(attns[j]!, h);
      skips.push(h);
    });
    for (const d of block.downsamplers) {
      const y = keep(d.forward(ctx, h));
      ops.push({ kind: 'down', m: d, x: h, y });
      h = y;
      skips.push(h);
    }
  }
  // 4. mid
  h = resnet(unet.mid_block.resnets[0]!, h);
  unet.mid_block.attentions.forEach((a, j) => { h = resnet(unet.mid_block.resnets[j + 1]!, transformer(a, h)); });
  // 5. up (skips last-in-first-out; exact 2x upsampling only)
  for (const block of unet.up_blocks) {
    const attns = 'attentions' in block ? block.attentions : [];
    block.resnets.forEach((r, j) => {
      h = resnet(r, h, skips.pop()!);
      if (attns[j]) h = transformer(attns[j]!, h);
    });
    for (const u of block.upsamplers) {
      const y = keep(u.forward(ctx, h));
      ops.push({ kind: 'up', m: u, x: h, y });
      h = y;
    }
  }
  check(skips.length === 0, `UNet VJP: ${skips.length} skips left over`);
  // 6. post-process
  const n = keep(unet.conv_norm_out.forward(ctx, h, true));
  ops.push({ kind: 'norm_silu', m: unet.conv_norm_out, x: h, y: n });
  const eps = unet.conv_out.forward(ctx, n);
  ops.push({ kind: 'conv', m: unet.conv_out, x: n, y: eps });

  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    ctx.release(...owned);
    owned.clear();
  };
  return {
    eps,
    release,
    backward(u: GpuTensor): GpuTensor {
      check(!released, 'UNet VJP: the tape was already used or released');
      check(u.shape.length === 4 && u.shape.every((d, i) => d === eps.shape[i]), `UNet VJP: u ${shapeStr(u.shape)} must be ${shapeStr(eps.shape)}`);
      const dx = ctx.scope(() => walkBack(ctx, ops, context, eps, u, owned));
      release();
      if (x === sample) return dx;
      const d2 = scale(ctx, dx, 2);                         // center_input_sample: x = 2 sample - 1
      ctx.release(dx);
      return d2;
    },
  };
}

/** The backward walk: gradients keyed by tensor, accumulated where a tensor feeds two layers (skips). */
function walkBack(ctx: GpuContext, ops: readonly Op[], context: GpuTensor, eps: GpuTensor, u: GpuTensor, owned: Set<GpuTensor>): GpuTensor {
  const grads = new Map<GpuTensor, GpuTensor>([[eps, u]]);
  const accumulate = (t: GpuTensor, g: GpuTensor) => {
    const prev = grads.get(t);
    if (!prev) { grads.set(t, g); return; }
    grads.set(t, add(ctx, prev, g));
    ctx.release(g);
    if (prev !== u) ctx.release(prev);
  };
  let dx: GpuTensor | undefined;
  for (let i = ops.length - 1; i >= 0; i--) {
    const op = ops[i]!;
    const dy = grads.get(op.y);
    check(dy !== undefined, `UNet VJP: no gradient reached layer ${i} (${op.kind})`);
    grads.delete(op.y);
    let g: GpuTensor;
    switch (op.kind) {
      case 'conv': g = convVjp(ctx, op.m, op.x.shape, dy); break;
      case 'norm_silu': g = normVjp(ctx, op.m, op.x, dy, true); break;
      case 'transformer': g = transformer2dVjp(ctx, op.m, op.x, context, dy); break;
      case 'down': g = downsampleVjp(ctx, op.m, op.x, dy); break;
      case 'up': g = upsampleVjp(ctx, op.m, op.x, dy); break;
      case 'resnet': {
        const input = op.skip ? concatChannels(ctx, op.x, op.skip) : op.x;
        g = resnetVjp(ctx, op.m, input, op.tproj, dy);
        if (op.skip) {
          ctx.release(input);
          const [da, db] = splitChannels(ctx, g, op.x.shape[1]!);
          ctx.release(g);
          accumulate(op.skip, db);
          g = da;
        }
        if (op.tproj) { ctx.release(op.tproj); owned.delete(op.tproj); }
        break;
      }
    }
    if (dy !== u) ctx.release(dy);
    if (owned.delete(op.y)) ctx.release(op.y);  // walked back: its output is no longer read
    if (i === 0) dx = g;
    else accumulate(op.x, g);
  }
  check(grads.size === 0, `UNet VJP: ${grads.size} gradients never consumed`);
  return dx!;
}

/** J_eps^T u at (sample, t, context): one tape forward and its backward; the forward's eps is freed. */
export function unetVjp(ctx: GpuContext, unet: UNet2DConditionModel, sample: GpuTensor, timesteps: readonly number[],
                        context: GpuTensor, u: GpuTensor): GpuTensor {
  const tape = recordUNetTape(ctx, unet, sample, timesteps, context);
  const dx = tape.backward(u);
  ctx.release(tape.eps);
  return dx;
}
