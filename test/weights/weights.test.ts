import { describe, expect, it } from 'vitest';
import { openSafetensors } from '../../src/weights/safetensors.js';
import { encodeSafetensors, type TensorToWrite } from '../../src/weights/safetensors_write.js';
import { Weights } from '../../src/weights/weights.js';
import { mem } from './helpers.js';

const f32 = (shape: number[], start = 0): TensorToWrite => ({
  dtype: 'F32', shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => start + i),
});

async function tree(tensors: Record<string, TensorToWrite>, name = 'm.safetensors') {
  return openSafetensors(mem(encodeSafetensors(tensors), name));
}

describe('Weights', () => {
  it('scopes keys like vs.pp() and reads through the view', async () => {
    const w = Weights.fromFiles([await tree({
      'down_blocks.1.resnets.0.conv1.weight': f32([2, 1, 1, 1], 10),
      'down_blocks.1.resnets.0.conv1.bias': f32([2]),
      'conv_in.weight': f32([3]),
    })]);
    const conv1 = w.at('down_blocks').at(1).at('resnets', 0).at('conv1');
    expect(conv1.prefix).toBe('down_blocks.1.resnets.0.conv1');
    expect(conv1.has('weight')).toBe(true);
    expect(conv1.has('nope')).toBe(false);
    expect(conv1.key('bias')).toBe('down_blocks.1.resnets.0.conv1.bias');
    expect(Array.from(await conv1.readF32('weight', [2, 1, 1, 1]))).toEqual([10, 11]);
    expect(Array.from(await conv1.readF16Bits('bias', [-1]))).toEqual([0, 0x3c00]);
    const ref = w.at('conv_in').tensor('weight', [3]);
    expect(ref).toMatchObject({ key: 'conv_in.weight', dtype: 'F32', shape: [3] });
    expect(w.keys()).toHaveLength(3);
    expect(w.at('down_blocks').keys()).toHaveLength(2);
    w.assertAllConsumed();
  });

  it('names key, expected and actual shape on a mismatch', async () => {
    const w = Weights.fromFiles([await tree({ 'conv1.weight': f32([4, 3, 3, 3]) })], { label: 'unet' });
    expect(() => w.at('conv1').tensorInfo('weight', [4, 3, 1, 1])).toThrow(
      'unet: weight "conv1.weight" has shape [4, 3, 3, 3] but the model expects [4, 3, 1, 1]');
    expect(() => w.tensorInfo('conv1.weight', [4, 3, 3])).toThrow(/expects \[4, 3, 3\]/);
  });

  it('names the missing key, its expected shape and the keys nearby', async () => {
    const w = Weights.fromFiles([await tree({ 'block.norm1.weight': f32([2]), 'block.norm1.bias': f32([2]) })], { label: 'vae' });
    expect(() => w.at('block').at('norm2').tensorInfo('weight', [2])).toThrow(
      'vae: missing weight "block.norm2.weight" (expected shape [2]); keys under "block": norm1.weight, norm1.bias');
  });

  it('assertAllConsumed lists missing and unused keys, ignoring checkpoint noise', async () => {
    const w = Weights.fromFiles([await tree({
      'a.weight': f32([1]), 'b.weight': f32([1]), 'c.bias': f32([2]),
      'text_model.embeddings.position_ids': { dtype: 'I64', shape: [1, 3], data: new BigInt64Array(3) },
      'model_ema.decay': f32([1]), betas: f32([4]), sqrt_alphas_cumprod: f32([4]), posterior_variance: f32([4]), logvar: f32([4]),
    })], { label: 'x' });
    w.tensor('a.weight');
    expect(() => w.tensor('zzz.weight', [5])).toThrow(/missing/);
    let msg = '';
    try { w.assertAllConsumed(); } catch (e) { msg = (e as Error).message; }
    expect(msg).toMatch(/^x: weights do not match the model; 1 missing:\n {2}zzz\.weight \[5\]\n2 unused:\n {2}b\.weight \[1\]\n {2}c\.bias \[2\]$/);
    expect(() => w.assertAllConsumed([/^[bc]\./, /^zzz/])).toThrow(/1 missing/);
    // A scoped check only looks under its prefix.
    w.at('a').assertAllConsumed();
    expect(() => w.at('b').assertAllConsumed()).toThrow(/under "b".*1 unused/s);
  });

  it('merges shards, renames and reshapes, and rejects duplicates', async () => {
    const s1 = await tree({ 'enc.query.weight': f32([2, 2, 1, 1]) }, 's1.safetensors');
    const s2 = await tree({ 'enc.norm.bias': f32([2]) }, 's2.safetensors');
    const w = Weights.fromFiles([s1, s2], {
      rename: (k) => k.replace('.query.', '.to_q.'),
      reshape: (k, s) => (k.endsWith('to_q.weight') ? [s[0]!, s[1]!] : s),
    });
    expect(w.tensorInfo('enc.to_q.weight', [2, 2]).shape).toEqual([2, 2]);
    expect(Array.from(await w.readF32('enc.norm.bias'))).toEqual([0, 1]);
    const dup = await tree({ 'enc.norm.bias': f32([2]) }, 's3.safetensors');
    expect(() => Weights.fromFiles([s2, dup])).toThrow(/key "enc\.norm\.bias" comes from both .* s2\.safetensors and .* s3\.safetensors/);
    expect(() => Weights.fromFiles([s1], { reshape: () => [3] })).toThrow(/cannot view "enc\.query\.weight" of shape \[2, 2, 1, 1\] as \[3\]/);
    expect(Weights.fromFiles([s1, s2], { rename: (k) => (k.startsWith('enc.norm') ? null : k) }).keys()).toEqual(['enc.query.weight']);
  });
});
