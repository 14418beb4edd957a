// NaN/Inf weights are refused when read (the pass that converts or hands out the values counts
// them), naming the file and the tensor; so are finite f32 values that f16 storage would turn
// into Inf. Every stored dtype (F32, F16, BF16, F64) and both reads (f32, f16 bits) are covered.
import { describe, expect, it } from 'vitest';
import { f32ArrayToF16 } from '../../src/weights/dtype.js';
import { openSafetensors } from '../../src/weights/safetensors.js';
import { encodeSafetensors, type TensorToWrite } from '../../src/weights/safetensors_write.js';
import { Weights } from '../../src/weights/weights.js';
import { mem } from './helpers.js';

const N = 1000;
/** 0.5, 0.5, ... with NaN, +Inf and -Inf at three places when `bad`. */
function values(bad: boolean): Float32Array {
  const v = new Float32Array(N).fill(0.5);
  if (bad) { v[3] = NaN; v[500] = Infinity; v[N - 1] = -Infinity; }
  return v;
}

function stored(dtype: 'F32' | 'F16' | 'BF16' | 'F64', v: Float32Array): TensorToWrite {
  if (dtype === 'F32') return { dtype, shape: [N], data: v };
  if (dtype === 'F64') return { dtype, shape: [N], data: Float64Array.from(v) };
  if (dtype === 'F16') return { dtype, shape: [N], data: f32ArrayToF16(v) };
  // bf16 = top half of the f32 bits (0.5, NaN and Inf are exact)
  return { dtype, shape: [N], data: Uint16Array.from(new Uint32Array(v.buffer), (u) => u >>> 16) };
}

async function weights(tensors: Record<string, TensorToWrite>, rename?: (k: string) => string | null): Promise<Weights> {
  return Weights.fromFiles([await openSafetensors(mem(encodeSafetensors(tensors), 'unet/diffusion_pytorch_model.safetensors'))],
    { label: 'unet', rename });
}

describe('non-finite weights', () => {
  for (const dtype of ['F32', 'F16', 'BF16', 'F64'] as const) {
    for (const read of ['readF32', 'readF16Bits'] as const) {
      if (dtype === 'F64' && read === 'readF16Bits') continue; // F64 has no f16 path (goldens only)
      it(`${dtype} tensor, ${read}: 3 NaN/Inf refused with file and tensor; clean values pass`, async () => {
        const w = await weights({ 'conv_in.weight': stored(dtype, values(true)), 'conv_in.bias': stored(dtype, values(false)) });
        await expect(w.at('conv_in')[read]('weight', [N])).rejects.toThrow(
          'unet/diffusion_pytorch_model.safetensors: tensor conv_in.weight has 3 non-finite values (NaN/Inf); the checkpoint is damaged');
        const ok = await w.at('conv_in')[read]('bias', [N]);
        expect(ok.length).toBe(N);
      });
    }
  }

  it('a single NaN is found, and a renamed (single-file) key is named as in the file and in the model', async () => {
    const v = new Float32Array(N).fill(0.25);
    v[N - 1] = NaN;
    const w = await weights({ 'model.diffusion_model.input_blocks.0.0.weight': { dtype: 'F32', shape: [N], data: v } },
      (k) => (k === 'model.diffusion_model.input_blocks.0.0.weight' ? 'conv_in.weight' : null));
    await expect(w.readF32('conv_in.weight')).rejects.toThrow(
      "tensor model.diffusion_model.input_blocks.0.0.weight (the model's conv_in.weight) has 1 non-finite value (NaN/Inf)");
  });

  it('finite f32 values beyond the f16 range are refused for f16 storage only', async () => {
    const v = new Float32Array(N).fill(1);
    v[7] = 1e5; v[8] = -7e4;
    const w = await weights({ big: { dtype: 'F32', shape: [N], data: v } });
    expect((await w.readF32('big'))[7]).toBe(1e5);
    await expect(w.readF16Bits('big')).rejects.toThrow(/tensor big has 2 value\(s\) beyond the f16 range .* load it with f32 weights/);
    const edge = new Float32Array(N).fill(65504); // the largest f16: fine
    const e = await weights({ edge: { dtype: 'F32', shape: [N], data: edge } });
    expect((await e.readF16Bits('edge'))[0]).toBe(0x7bff);
  });
});
