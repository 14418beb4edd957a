// Choosing the checkpoint tensors the truncated vision tower uses. A CLIP checkpoint (the hub's
// openai/clip-vit-base-patch16 model.safetensors is a full CLIPModel) holds the text tower,
// projections, logit_scale, all 12 vision layers and post_layernorm; only `vision_model.*` up to
// the last layer used is kept, so nothing else is read or uploaded, and assertAllConsumed still
// catches a missing or misnamed key among those kept. Browser-safe (no node imports).
import type { SafetensorsFile } from '../weights/safetensors.js';
import { Weights } from '../weights/weights.js';

const LAYER_RE = /^vision_model\.encoder\.layers\.(\d+)\./;

/** Whether a key belongs to the vision tower truncated to its first `numLayers` encoder layers. */
export function usedByTruncatedTower(key: string, numLayers: number): boolean {
  if (!key.startsWith('vision_model.')) return false;                 // text_model.*, projections, logit_scale
  if (key.startsWith('vision_model.post_layernorm.')) return false;   // after the last layer: never used
  if (key === 'vision_model.embeddings.position_ids') return false;   // a buffer (arange), not a weight
  const m = LAYER_RE.exec(key);
  return !m || Number(m[1]) < numLayers;
}

/** Throws a plain message for checkpoints in a layout this loader does not read. */
export function checkClipLayout(files: readonly SafetensorsFile[], label: string): void {
  const keys = files.flatMap((f) => [...f.tensors.keys()]);
  if (keys.some((k) => k.startsWith('vision_model.'))) return;
  if (keys.some((k) => k.startsWith('visual.'))) {
    throw new Error(`${label}: this is an OpenAI-format CLIP checkpoint (visual.*); use the transformers layout ` +
      `(vision_model.*, e.g. openai/clip-vit-base-patch16's model.safetensors)`);
  }
  throw new Error(`${label}: no vision_model.* tensors: not a transformers CLIP or CLIPVisionModel checkpoint ` +
    `(first keys: ${keys.slice(0, 5).join(', ') || 'none'})`);
}

export function clipVisionWeights(files: readonly SafetensorsFile[], numLayers: number, label?: string): Weights {
  const name = label ?? files.map((f) => f.source.name).join(', ');
  checkClipLayout(files, name);
  return Weights.fromFiles(files, { label: name, rename: (k) => (usedByTruncatedTower(k, numLayers) ? k : null) });
}

/** Shape lookup over the files (for inferring a config). */
export function shapeLookup(files: readonly SafetensorsFile[]): (key: string) => readonly number[] | undefined {
  return (key) => {
    for (const f of files) {
      const t = f.tensors.get(key);
      if (t) return t.shape;
    }
    return undefined;
  };
}

/** Encoder layers present in the files (for a config inferred from shapes). */
export function countLayers(files: readonly SafetensorsFile[]): number {
  let n = 0;
  for (const f of files) for (const k of f.tensors.keys()) {
    const m = LAYER_RE.exec(k);
    if (m) n = Math.max(n, Number(m[1]) + 1);
  }
  return n;
}
