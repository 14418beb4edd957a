// A virtual safetensors file whose tensors are generated on read: used to build the full-size
// SD 1.4 UNet (860M parameters) in tests and benchmarks without the real 3.4 GB checkpoint and
// without holding all the bytes in host memory (one tensor is materialised at a time).
// Values follow the golden's randomisation (README "Parameter randomisation") in spirit, with a
// uniform distribution of the same variance (cheaper than Box-Muller for 860M values):
// norm weights 1 + 0.25 u, biases 0.1 u, conv/linear weights u / sqrt(fan_in), u of unit variance.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkRange, type ByteSource } from '../../src/weights/byte_source.js';
import { f32ArrayToF16 } from '../../src/weights/dtype.js';
import { openSafetensors } from '../../src/weights/safetensors.js';
import { Weights } from '../../src/weights/weights.js';

/** ../shared/golden beside the repository (TETHER_GOLDEN overrides); usable from tsx (bench) too. */
export const GOLDEN_ROOT = process.env.TETHER_GOLDEN ?? fileURLToPath(new URL('../../../shared/golden', import.meta.url));

export function goldenFile(rel: string): string {
  const p = join(GOLDEN_ROOT, rel);
  if (!existsSync(p)) throw new Error(`golden file missing: ${p} (the shared/ folder must sit beside the repository)`);
  return p;
}

/** Diffusers key -> shape of the real SD 1.4 UNet, from sd14_configs/sd14_key_manifest.json. */
export function sd14UNetShapes(): Record<string, number[]> {
  const m = JSON.parse(readFileSync(goldenFile('sd14_configs/sd14_key_manifest.json'), 'utf8')) as {
    diffusers: Record<string, Record<string, number[]>>;
  };
  return m.diffusers['unet/diffusion_pytorch_model.safetensors']!;
}

export function sd14UNetConfigJson(): string {
  return readFileSync(goldenFile('sd14_configs/unet/config.json'), 'utf8');
}

function hash32(s: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h || 1;
}

/** Deterministic values of one tensor (see the file comment). */
export function syntheticTensor(key: string, shape: readonly number[], seed = 1): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  const isNorm = shape.length === 1 && /(^|\.)(norm\d?|conv_norm_out)\.weight$/.test(key);
  const isBias = shape.length === 1 && !isNorm;
  const fanIn = shape.length > 1 ? shape.slice(1).reduce((a, b) => a * b, 1) : 1;
  const std = isNorm ? 0.25 : isBias ? 0.1 : 1 / Math.sqrt(fanIn);
  const mean = isNorm ? 1 : 0;
  const k = std * Math.sqrt(3) * 2 / 4294967296; // uniform on [-sqrt(3), sqrt(3)) * std
  let x = hash32(key, seed);
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5; // xorshift32
    out[i] = mean + ((x >>> 0) - 2147483648) * k;
  }
  return out;
}

/** A safetensors ByteSource serving `shapes` as F16 or F32 tensors generated on demand. */
export function syntheticSafetensors(shapes: Record<string, readonly number[]>, dtype: 'F16' | 'F32' = 'F16',
                                     name = 'synthetic.safetensors', seed = 1): ByteSource {
  const elt = dtype === 'F16' ? 2 : 4;
  const header: Record<string, unknown> = {};
  const ranges: { key: string; shape: readonly number[]; begin: number; end: number }[] = [];
  let off = 0;
  for (const [key, shape] of Object.entries(shapes)) {
    const bytes = shape.reduce((a, b) => a * b, 1) * elt;
    header[key] = { dtype, shape, data_offsets: [off, off + bytes] };
    ranges.push({ key, shape, begin: off, end: off + bytes });
    off += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((json.length + 8) % 8)) % 8);
  const head = new Uint8Array(8 + json.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(json.length), true);
  head.set(new TextEncoder().encode(json), 8);
  const dataStart = head.length;
  const byBegin = new Map(ranges.map((r) => [r.begin, r]));
  const src: ByteSource = {
    name,
    size: dataStart + off,
    async read(offset, length) {
      checkRange(src, offset, length);
      if (offset + length <= dataStart) return head.slice(offset, offset + length);
      const r = byBegin.get(offset - dataStart);
      if (!r || r.end - r.begin !== length) throw new Error(`${name}: reads must cover one whole tensor (offset ${offset}, ${length} bytes)`);
      const v = syntheticTensor(r.key, r.shape, seed);
      const bytes = dtype === 'F16' ? f32ArrayToF16(v) : v;
      return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    },
  };
  return src;
}

/** The full-size SD 1.4 UNet weight tree with synthetic values. */
export async function sd14SyntheticUNetWeights(dtype: 'F16' | 'F32' = 'F16'): Promise<Weights> {
  const file = await openSafetensors(syntheticSafetensors(sd14UNetShapes(), dtype, 'synthetic SD 1.4 unet'));
  return Weights.fromFiles([file], { label: 'unet (synthetic SD 1.4)' });
}
