// `tether style-loss`: the style loss and its image gradient for tensors in a safetensors file,
// for checking the style path against another implementation (names as the goldens_style files):
//   input:  img [N, 3, H, W], img_ref [1 or N, 3, H', W'] (F32, in [-1, 1])
//   output: F, F_ref (hidden_states[3] tokens, CLS dropped), G, G_ref, L, grad (= dL/d img),
//           pixel_values, pixel_values_ref; for N = 1 the batch dim is dropped from F, G, G_ref
//           as in the goldens (F [T-1, D], G [D, D]); L is [N]. Written atomically.
import { Command } from 'commander';
import { loadClipVisionFromPath } from '../clip_vision/load_node.js';
import { ClipStyleLoss, STYLE_HIDDEN_STATE } from '../clip_vision/style_loss.js';
import type { GpuContext } from '../gpu/context.js';
import { gram } from '../kernels/gram.js';
import { adapterName } from '../gpu/device.js';
import { createNodeGpuContext } from '../gpu/device_node.js';
import { fileByteSource } from '../weights/byte_source_node.js';
import { openSafetensors, type SafetensorsFile } from '../weights/safetensors.js';
import type { TensorToWrite } from '../weights/safetensors_write.js';
import { writeSafetensorsAtomic } from '../weights/safetensors_write_node.js';

export interface StyleLossArgs { clip: string; input: string; output: string }
export interface StyleLossDeps { ctx?: GpuContext }
export interface StyleLossResult { L: number[]; seconds: number; outputs: Record<string, number[]> }

async function readImage(f: SafetensorsFile, path: string, name: string): Promise<{ data: Float32Array; shape: number[] }> {
  const t = f.tensors.get(name);
  const what = `[N, 3, H, W] F32 in [-1, 1]`;
  if (!t) throw new Error(`input ${path}: missing tensor "${name}" (${what}); it has: ${[...f.tensors.keys()].join(', ') || 'none'}`);
  if (t.dtype !== 'F32' || t.shape.length !== 4 || t.shape[1] !== 3 || t.shape.some((d) => d === 0)) {
    throw new Error(`input tensor "${name}" is ${t.dtype} [${t.shape.join(', ')}]; expected ${what}`);
  }
  const data = await f.readF32(name);
  const bad = data.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new Error(`input tensor "${name}" holds a non-finite value at index ${bad}`);
  return { data, shape: [...t.shape] };
}

/** [N, T, D] tokens -> [N, T - 1, D] (the CLS row of each sample dropped) */
function dropCls(h: Float32Array, N: number, T: number, D: number): Float32Array {
  const F = new Float32Array(N * (T - 1) * D);
  for (let n = 0; n < N; n++) F.set(h.subarray((n * T + 1) * D, (n + 1) * T * D), n * (T - 1) * D);
  return F;
}

const f32 = (data: Float32Array, shape: number[]): TensorToWrite => ({ dtype: 'F32', shape, data });

/** Runs the command; throws an Error with a one-line message on any failure. */
export async function runStyleLoss(args: StyleLossArgs, deps: StyleLossDeps = {}): Promise<StyleLossResult> {
  const started = performance.now();
  // read and check the inputs before the model load
  const src = await fileByteSource(args.input).catch((e: NodeJS.ErrnoException) => {
    throw new Error(`input ${args.input}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  });
  let img, ref;
  try {
    const f = await openSafetensors(src);
    img = await readImage(f, args.input, 'img');
    ref = await readImage(f, args.input, 'img_ref');
  } finally {
    await src.close?.();
  }
  const N = img.shape[0];
  if (ref.shape[0] !== 1 && ref.shape[0] !== N) throw new Error(`img_ref has ${ref.shape[0]} images; expected 1 or ${N} (one per img)`);

  const ctx = deps.ctx ?? await createNodeGpuContext();
  const model = await loadClipVisionFromPath(ctx, args.clip, { numLayers: STYLE_HIDDEN_STATE });
  const style = new ClipStyleLoss(model);
  try {
    const imgT = ctx.upload(img.data, img.shape), refT = ctx.upload(ref.data, ref.shape);
    const pv = style.preprocess(ctx, imgT), pvRef = style.preprocess(ctx, refT);
    const hRef = style.model.forward(ctx, pvRef, STYLE_HIDDEN_STATE);
    const gRef = gram(ctx, hRef, 1);
    const r = style.lossAndGrad(ctx, imgT, gRef, { features: true, gram: true });
    const [pvD, pvRefD, hRefD, gRefD, hD, gD, L, grad] = await Promise.all(
      [pv, pvRef, hRef, gRef, r.features!, r.gram!, r.loss, r.grad].map((t) => ctx.read(t)));
    ctx.release(imgT, refT, pv, pvRef, hRef, gRef, r.gram, r.loss, r.grad, r.features);
    const [, T, D] = r.features!.shape;
    const batch = (b: number, s: number[]) => (b === 1 ? s : [b, ...s]);
    const outputs: Record<string, TensorToWrite> = {
      pixel_values_ref: f32(pvRefD, [...pvRef.shape]), pixel_values: f32(pvD, [...pv.shape]),
      F_ref: f32(dropCls(hRefD, ref.shape[0], T, D), batch(ref.shape[0], [T - 1, D])), G_ref: f32(gRefD, batch(ref.shape[0], [D, D])),
      F: f32(dropCls(hD, N, T, D), batch(N, [T - 1, D])), G: f32(gD, batch(N, [D, D])),
      L: f32(L, [N]), grad: f32(grad, img.shape),
    };
    await writeSafetensorsAtomic(args.output, outputs, {
      key_order: JSON.stringify(Object.keys(outputs)), clip: args.clip, hidden_states_index: String(STYLE_HIDDEN_STATE),
      adapter: adapterName(ctx.adapter),
    }).catch((e: NodeJS.ErrnoException) => {
      throw new Error(`output ${args.output}: ${e.code === 'ENOENT' ? 'its folder does not exist' : e.message}`);
    });
    return {
      L: Array.from(L), seconds: (performance.now() - started) / 1000,
      outputs: Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.shape])),
    };
  } finally {
    style.destroy(ctx);
    model.destroy(ctx);
  }
}

/** The `style-loss` subcommand (the CLI entry adds it to the `tether` program). */
export function styleLossCommand(deps: StyleLossDeps = {}): Command {
  return new Command('style-loss')
    .description('CLIP Gram-matrix style loss L = ||G_ref - G(img)||_F and its image gradient, for tensors in a safetensors file')
    .requiredOption('--clip <path>', 'CLIP checkpoint in the transformers layout: a folder (config.json + model.safetensors, ' +
      'e.g. openai/clip-vit-base-patch16) or a .safetensors file; only the vision tower up to encoder layer 2 is loaded')
    .requiredOption('--input <file>', 'input tensors (.safetensors): img [N, 3, H, W] and img_ref [1 or N, 3, H, W], F32 in [-1, 1]')
    .requiredOption('--output <file>', 'where to write F, F_ref, G, G_ref, L, grad, pixel_values, pixel_values_ref (.safetensors, written atomically)')
    .addHelpText('after', '\nFeatures: hidden_states[3] (the output of vision encoder layer 2), CLS dropped; G = F^T F unnormalised; ' +
      'images are resized bilinearly (no antialiasing) to the model\'s image size and CLIP-normalised, in f32.')
    .action(async function (this: Command, o: StyleLossArgs) {
      try {
        const r = await runStyleLoss(o, deps);
        this.configureOutput().writeOut?.(`wrote ${o.output}: L = ${r.L.map((l) => l.toPrecision(8)).join(', ')} (${r.seconds.toFixed(1)} s)\n`);
      } catch (e) {
        this.error(`tether style-loss: ${(e as Error).message.split('\n')[0]}`, { exitCode: 1, code: 'tether.style-loss' });
      }
    });
}
