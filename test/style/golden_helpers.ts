// Loading the style goldens (../shared/golden/goldens_style) for the tests: the tiny CLIP vision
// tower's weights and config, the inputs, and a max-error-over-scale helper.
import { openGolden, type Golden } from '../helpers/golden.js';
import type { RefConfig, RefWeights } from './clip_ref.js';

export const STYLE_DIR = 'goldens_style';
export const TINY_CFG: RefConfig = { hidden: 64, heads: 4, inter: 128, imageSize: 64, patch: 16, eps: 1e-5 };

export async function tinyWeights(): Promise<RefWeights> {
  const model = await openGolden(`${STYLE_DIR}/clip_vision/model.safetensors`);
  const ws = new Map<string, Float32Array>();
  for (const k of model.file.tensors.keys()) ws.set(k, await model.f32(k));
  return (k: string) => {
    const v = ws.get(k);
    if (!v) throw new Error(`tiny CLIP has no ${k}`);
    return v;
  };
}

export const styleGolden = (name: string): Promise<Golden> => openGolden(`${STYLE_DIR}/${name}.safetensors`);

/** max |a - b| / max |b| (the README's "diff / max") */
export function relMax(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`relMax: lengths ${a.length} vs ${b.length}`);
  let m = 0, s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    m = Number.isNaN(d) ? NaN : Math.max(m, d);
    s = Math.max(s, Math.abs(b[i]));
  }
  return m / Math.max(s, 1e-300);
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
  return ab / Math.sqrt(aa * bb);
}
