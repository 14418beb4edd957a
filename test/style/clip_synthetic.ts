// A ViT-B/16-sized CLIP vision checkpoint with random weights, built in memory from the real key
// manifest (goldens_style/real_clip_vit_b16/vision_key_manifest.json): exact key names and shapes
// of openai/clip-vit-base-patch16's vision tower, for the slow real-size test and the benchmark.
// Only the first `numLayers` encoder layers get real data (the rest would be 64M unused floats);
// post_layernorm and the position_ids buffer are included so the loader has to skip them.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bufferByteSource } from '../../src/weights/byte_source.js';
import { openSafetensors, type SafetensorsFile } from '../../src/weights/safetensors.js';
import { encodeSafetensors, type TensorToWrite } from '../../src/weights/safetensors_write.js';
import { Rng } from '../../src/util/rng.js';

// ../shared/golden beside the repository (TETHER_GOLDEN overrides), found without test/helpers so
// bench/style.ts can import this under tsx (ESM: no __dirname)
const MANIFEST = process.env.TETHER_GOLDEN
  ? `${process.env.TETHER_GOLDEN}/goldens_style/real_clip_vit_b16/vision_key_manifest.json`
  : fileURLToPath(new URL('../../../shared/golden/goldens_style/real_clip_vit_b16/vision_key_manifest.json', import.meta.url));

const LAYER_RE = /^vision_model\.encoder\.layers\.(\d+)\./;

export interface SyntheticClip { file: SafetensorsFile; tensors: Map<string, Float32Array> }

export async function vitB16SyntheticClip(numLayers = 3, seed = 1): Promise<SyntheticClip> {
  const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8'));
  const keys = manifest.CLIPVisionModel as Record<string, { shape: number[] }>;
  const rng = new Rng(seed);
  const out: Record<string, TensorToWrite> = {};
  const tensors = new Map<string, Float32Array>();
  for (const [key, { shape }] of Object.entries(keys)) {
    const m = LAYER_RE.exec(key);
    if (m && Number(m[1]) >= numLayers) continue;
    const data = rng.normals(shape.reduce((a, b) => a * b, 1));
    // norms around 1, everything else N(0, 0.02) (CLIP's initializer_range): O(1) activations
    const isNormWeight = /(layer_?norm\d?|layrnorm)\.weight$/.test(key);
    for (let i = 0; i < data.length; i++) data[i] = isNormWeight ? 1 + 0.1 * data[i] : 0.02 * data[i];
    out[key] = { dtype: 'F32', shape, data };
    tensors.set(key, data);
  }
  out['vision_model.embeddings.position_ids'] = { dtype: 'I64', shape: [1, 197], data: BigInt64Array.from({ length: 197 }, (_, i) => BigInt(i)) };
  return { file: await openSafetensors(bufferByteSource(encodeSafetensors(out), 'synthetic ViT-B/16 vision tower')), tensors };
}
