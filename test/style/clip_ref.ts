// Float64 CPU reference of the whole style path, composed from src/kernels/reference/*: resize,
// normalisation, CLIPVisionEmbeddings, pre_layrnorm, CLIP encoder layers, Gram, Frobenius loss,
// and the explicit backward pass back to the image. Used to check the references themselves
// against the golden float64 run, and the GPU path against the references.
import { attentionBackwardRef } from '../../src/kernels/reference/attention_backward.js';
import { attentionProbsRef, attentionPvRef, type AttnDims } from '../../src/kernels/reference/attention_probs.js';
import { bilinearResizeRef } from '../../src/kernels/reference/bilinear_resize.js';
import { bilinearResizeBackwardRef } from '../../src/kernels/reference/bilinear_resize_backward.js';
import { clipNormalizeRef } from '../../src/kernels/reference/clip_normalize.js';
import { clipNormalizeBackwardRef } from '../../src/kernels/reference/clip_normalize_backward.js';
import { frobeniusLossRef } from '../../src/kernels/reference/frobenius_loss.js';
import { frobeniusLossBackwardRef } from '../../src/kernels/reference/frobenius_loss_backward.js';
import { gramRef } from '../../src/kernels/reference/gram.js';
import { gramBackwardRef } from '../../src/kernels/reference/gram_backward.js';
import { layerNormBackwardRef, layerNormRef64 } from '../../src/kernels/reference/layer_norm_backward.js';
import { linearBackwardRef, linearRef64 } from '../../src/kernels/reference/linear_backward.js';
import { patchEmbedRef } from '../../src/kernels/reference/patch_embed.js';
import { patchEmbedBackwardRef } from '../../src/kernels/reference/patch_embed_backward.js';
import { quickGeluBackwardRef, quickGeluRef64 } from '../../src/kernels/reference/quick_gelu_backward.js';

export interface RefConfig { hidden: number; heads: number; inter: number; imageSize: number; patch: number; eps: number }
export type RefWeights = (key: string) => ArrayLike<number>;

export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073].map(Math.fround);
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711].map(Math.fround);

const add = (a: ArrayLike<number>, b: ArrayLike<number>) => Float64Array.from(a, (v, i) => v + b[i]);

interface LayerTape { h: ArrayLike<number>; a: Float64Array; q: Float64Array; k: Float64Array; v: Float64Array; P: Float64Array; h1: Float64Array; f1: Float64Array }

export interface RefForward { resized: Float64Array; pixels: Float64Array; emb: Float64Array; hidden: Float64Array[]; tapes: LayerTape[] }

export function clipForwardRef(img: ArrayLike<number>, shape: readonly number[], cfg: RefConfig, w: RefWeights, layers: number): RefForward {
  const [N, C, H, W] = shape;
  const S = cfg.imageSize, Dm = cfg.hidden, T = (S / cfg.patch) ** 2 + 1, M = N * T;
  const resized = bilinearResizeRef(img, [N, C, H, W], S, S);
  const pixels = clipNormalizeRef(resized, [N, C, S, S], CLIP_MEAN, CLIP_STD);
  const e = 'vision_model.embeddings.';
  const emb = patchEmbedRef(pixels, w(`${e}patch_embedding.weight`), w(`${e}class_embedding`), w(`${e}position_embedding.weight`),
    { N, C, S, p: cfg.patch, D: Dm });
  const hidden = [layerNormRef64(emb, Dm, w('vision_model.pre_layrnorm.weight'), w('vision_model.pre_layrnorm.bias'), cfg.eps)];
  const tapes: LayerTape[] = [];
  const dims: AttnDims = { B: N, Nq: T, Nk: T, heads: cfg.heads, D: Dm / cfg.heads };
  const scale = (Dm / cfg.heads) ** -0.5;
  for (let l = 0; l < layers; l++) {
    const p = `vision_model.encoder.layers.${l}.`;
    const lin = (x: ArrayLike<number>, name: string, K: number, O: number) => linearRef64(x, w(`${p}${name}.weight`), w(`${p}${name}.bias`), M, K, O);
    const h = hidden[l];
    const a = layerNormRef64(h, Dm, w(`${p}layer_norm1.weight`), w(`${p}layer_norm1.bias`), cfg.eps);
    const q = lin(a, 'self_attn.q_proj', Dm, Dm), k = lin(a, 'self_attn.k_proj', Dm, Dm), v = lin(a, 'self_attn.v_proj', Dm, Dm);
    const P = attentionProbsRef(q, k, dims, scale);
    const h1 = add(h, lin(attentionPvRef(P, v, dims), 'self_attn.out_proj', Dm, Dm));
    const b = layerNormRef64(h1, Dm, w(`${p}layer_norm2.weight`), w(`${p}layer_norm2.bias`), cfg.eps);
    const f1 = lin(b, 'mlp.fc1', Dm, cfg.inter);
    hidden.push(add(h1, lin(quickGeluRef64(f1), 'mlp.fc2', cfg.inter, Dm)));
    tapes.push({ h, a, q, k, v, P, h1, f1 });
  }
  return { resized, pixels, emb, hidden, tapes };
}

/** Gradients w.r.t. every stage, from dL/d hidden[last]. */
export function clipBackwardRef(fw: RefForward, dLast: ArrayLike<number>, shape: readonly number[], cfg: RefConfig, w: RefWeights) {
  const [N, C] = shape;
  const S = cfg.imageSize, Dm = cfg.hidden, T = (S / cfg.patch) ** 2 + 1, M = N * T;
  const dims: AttnDims = { B: N, Nq: T, Nk: T, heads: cfg.heads, D: Dm / cfg.heads };
  const scale = (Dm / cfg.heads) ** -0.5;
  const dHidden: Float64Array[] = [];
  let dh: Float64Array = Float64Array.from(dLast);
  dHidden[fw.tapes.length] = dh;
  for (let l = fw.tapes.length - 1; l >= 0; l--) {
    const p = `vision_model.encoder.layers.${l}.`;
    const t = fw.tapes[l];
    const linB = (dy: ArrayLike<number>, name: string, K: number, O: number, acc: ArrayLike<number> | null = null) =>
      linearBackwardRef(dy, w(`${p}${name}.weight`), M, K, O, acc);
    // MLP branch: h2 = h1 + fc2(quick_gelu(fc1(LN2(h1))))
    const dg = linB(dh, 'mlp.fc2', cfg.inter, Dm);
    const df1 = quickGeluBackwardRef(t.f1, dg);
    const db = linB(df1, 'mlp.fc1', Dm, cfg.inter);
    const dh1 = layerNormBackwardRef(t.h1, db, Dm, w(`${p}layer_norm2.weight`), cfg.eps, dh);
    // attention branch: h1 = h + out_proj(attn(q, k, v)), q/k/v = proj(LN1(h))
    const dO = linB(dh1, 'self_attn.out_proj', Dm, Dm);
    const g = attentionBackwardRef(t.q, t.k, t.v, t.P, dO, dims, scale);
    let da = linB(g.dq, 'self_attn.q_proj', Dm, Dm);
    da = linB(g.dk, 'self_attn.k_proj', Dm, Dm, da);
    da = linB(g.dv, 'self_attn.v_proj', Dm, Dm, da);
    dh = layerNormBackwardRef(t.h, da, Dm, w(`${p}layer_norm1.weight`), cfg.eps, dh1);
    dHidden[l] = dh;
  }
  const dEmb = layerNormBackwardRef(fw.emb, dh, Dm, w('vision_model.pre_layrnorm.weight'), cfg.eps);
  const dPixels = patchEmbedBackwardRef(dEmb, w('vision_model.embeddings.patch_embedding.weight'), { N, C, S, p: cfg.patch, D: Dm });
  const dResized = clipNormalizeBackwardRef(dPixels, [N, C, S, S], CLIP_STD);
  const dImg = bilinearResizeBackwardRef(dResized, shape, S, S);
  return { dHidden, dEmb, dPixels, dResized, dImg };
}

export interface StyleRef { F: Float64Array; G: Float64Array; L: Float64Array; dG: Float64Array; dF: Float64Array; grad: Float64Array; fw: RefForward; bw: ReturnType<typeof clipBackwardRef> }

/** L = ||G_ref - G(img)||_F with G from hidden_states[layers] (CLS dropped) and its image gradient. */
export function styleLossRef(img: ArrayLike<number>, shape: readonly number[], gRef: ArrayLike<number>, cfg: RefConfig, w: RefWeights, layers = 3): StyleRef {
  const N = shape[0], Dm = cfg.hidden, T = (cfg.imageSize / cfg.patch) ** 2 + 1;
  const fw = clipForwardRef(img, shape, cfg, w, layers);
  const last = fw.hidden[layers];
  const G = gramRef(last, N, T, Dm, 1);
  const L = frobeniusLossRef(G, gRef, N);
  const dG = frobeniusLossBackwardRef(G, gRef, L, new Float64Array(N).fill(1), N);
  const dF = gramBackwardRef(last, dG, N, T, Dm, 1);
  const bw = clipBackwardRef(fw, dF, shape, cfg, w);
  const F = new Float64Array(N * (T - 1) * Dm);
  for (let n = 0; n < N; n++) F.set(last.subarray((n * T + 1) * Dm, (n + 1) * T * Dm), n * (T - 1) * Dm);
  return { F, G, L, dG, dF, grad: bw.dImg, fw, bw };
}

/** Style Gram matrix of an image (the reference side of the loss). */
export function styleGramRef(img: ArrayLike<number>, shape: readonly number[], cfg: RefConfig, w: RefWeights, layers = 3): Float64Array {
  const T = (cfg.imageSize / cfg.patch) ** 2 + 1;
  return gramRef(clipForwardRef(img, shape, cfg, w, layers).hidden[layers], shape[0], T, cfg.hidden, 1);
}
