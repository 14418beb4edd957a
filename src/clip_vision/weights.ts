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

/** Parameters kept and left out by the truncated tower, grouped for a status line. */
export interface ClipKeySummary {
  /** encoder layers loaded, of those in the files */
  layers: number;
  layersInFiles: number;
  tensors: number;
  params: number;
  /** what was not read: 'text tower', 'vision layers 3..11', 'post_layernorm', 'projections, logit_scale' */
  skipped: { what: string; tensors: number; params: number }[];
}

/** The group a key left out of the truncated tower belongs to (null: a buffer, not a parameter). */
function skippedGroup(key: string, numLayers: number, layersInFiles: number): string | null {
  if (/(^|\.)position_ids$/.test(key)) return null;
  if (key.startsWith('text_model.')) return 'text tower';
  if (key.startsWith('vision_model.post_layernorm.')) return 'post_layernorm';
  if (LAYER_RE.test(key)) return layersInFiles - numLayers === 1 ? `vision layer ${numLayers}` : `vision layers ${numLayers}..${layersInFiles - 1}`;
  return key.startsWith('vision_model.') ? 'other vision_model tensors' : 'projections, logit_scale';
}

export function summarizeClipKeys(files: readonly SafetensorsFile[], numLayers: number): ClipKeySummary {
  const layersInFiles = countLayers(files);
  const out: ClipKeySummary = { layers: Math.min(numLayers, layersInFiles), layersInFiles, tensors: 0, params: 0, skipped: [] };
  const groups = new Map<string, { what: string; tensors: number; params: number }>();
  for (const f of files) for (const [k, t] of f.tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (usedByTruncatedTower(k, numLayers)) { out.tensors++; out.params += n; continue; }
    const what = skippedGroup(k, numLayers, layersInFiles);
    if (what === null) continue;
    const g = groups.get(what) ?? { what, tensors: 0, params: 0 };
    g.tensors++; g.params += n;
    groups.set(what, g);
  }
  out.skipped = [...groups.values()];
  return out;
}
