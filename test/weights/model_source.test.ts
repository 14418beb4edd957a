import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobByteSource } from '../../src/weights/byte_source.js';
import { fileByteSource } from '../../src/weights/byte_source_node.js';
import { diffusersShapeToLdm, diffusersToLdm, layoutFromDiffusersKeys, type Component } from '../../src/weights/keymap_ldm.js';
import { loadComponentWeights, loadSingleFileWeights } from '../../src/weights/model_source.js';
import { nodeModelFiles } from '../../src/weights/model_source_node.js';
import { openSafetensors } from '../../src/weights/safetensors.js';
import { encodeSafetensors, type TensorToWrite } from '../../src/weights/safetensors_write.js';
import { Weights } from '../../src/weights/weights.js';
import { GOLDEN, mem, recordingSource } from './helpers.js';

const COMPONENTS: Component[] = ['unet', 'vae', 'text_encoder'];
const SINGLE = `${GOLDEN}single_file/tiny-sd14-public.safetensors`;
const bits = (a: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('single file vs diffusers folder (tiny SD 1.4)', () => {
  it('every folder tensor maps to a same-named, same-shaped, bit-identical single-file tensor', async () => {
    const single = await loadSingleFileWeights(await fileByteSource(SINGLE));
    const folder = nodeModelFiles(GOLDEN);
    try {
      for (const c of COMPONENTS) {
        const want = await loadComponentWeights(folder, c);
        const got = single[c];
        expect(got.keys().sort(), c).toEqual(want.keys().sort());
        for (const key of want.keys()) {
          const a = want.tensor(key), b = got.tensor(key, a.shape);
          expect(b.dtype).toBe(a.dtype);
          expect(bits(await b.readRaw()).equals(bits(await a.readRaw())), key).toBe(true);
        }
        got.assertAllConsumed();
        want.assertAllConsumed();
        await want.close();
      }
      expect(single.vae.tensor('decoder.mid_block.attentions.0.to_q.weight').shape).toEqual([64, 64]);
    } finally {
      await single.unet.close();
    }
  });

  it('a single file built from the folder with diffusersToLdm equals the published one', async () => {
    const folder = nodeModelFiles(GOLDEN);
    const parts = Object.fromEntries(await Promise.all(COMPONENTS.map(async (c) => [c, await loadComponentWeights(folder, c)]))) as Record<Component, Weights>;
    const layout = layoutFromDiffusersKeys(parts.unet.keys(), parts.vae.keys());
    const out: Record<string, TensorToWrite> = {};
    for (const c of COMPONENTS) {
      for (const key of parts[c].keys()) {
        const ref = parts[c].tensor(key);
        out[diffusersToLdm(c, key, layout)!] = { dtype: 'F32', shape: [...diffusersShapeToLdm(c, key, ref.shape)], data: await ref.readF32() };
      }
      await parts[c].close();
    }
    const built = await openSafetensors(mem(encodeSafetensors(out), 'built.safetensors'));
    const src = await fileByteSource(SINGLE);
    const real = await openSafetensors(src);
    try {
      expect([...built.tensors.keys()].sort()).toEqual([...real.tensors.keys()].sort());
      for (const [k, t] of real.tensors) {
        expect(built.tensors.get(k)!.shape, k).toEqual(t.shape);
        expect(bits(await built.readRaw(k)).equals(bits(await real.readRaw(k))), k).toBe(true);
      }
    } finally {
      await src.close!();
    }
  });
});

describe('Blob byte source', () => {
  it('loads the golden UNet through a Blob without any read larger than the largest tensor', async () => {
    const blob = new Blob([readFileSync(`${GOLDEN}unet/diffusion_pytorch_model.safetensors`)]);
    const src = recordingSource(blobByteSource(blob, 'unet.safetensors'));
    const file = await openSafetensors(src);
    const w = Weights.fromFiles([file]);
    let largest = 0;
    for (const key of w.keys()) {
      const ref = w.tensor(key);
      largest = Math.max(largest, file.tensors.get(key)!.end - file.tensors.get(key)!.begin);
      expect((await ref.readF32()).length).toBe(ref.shape.reduce((a, b) => a * b, 1));
    }
    w.assertAllConsumed();
    expect(largest).toBe(64 * 64 * 3 * 3 * 4 * 2); // up_blocks conv1 [64, 128, 3, 3]
    expect(Math.max(...src.reads.map((r) => r.length))).toBeLessThanOrEqual(largest);
    expect(src.reads.reduce((a, r) => a + r.length, 0)).toBeLessThanOrEqual(blob.size);
  });
});

describe('folder loading', () => {
  let dir = '';
  const t = (v: number): TensorToWrite => ({ dtype: 'F32', shape: [1], data: new Float32Array([v]) });
  const put = async (rel: string, bytes: Uint8Array | string) => {
    await mkdir(join(dir, rel, '..'), { recursive: true });
    await writeFile(join(dir, rel), bytes);
  };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tether-model-'));
    await put('unet/diffusion_pytorch_model.safetensors', encodeSafetensors({ 'conv_in.bias': t(32) }));
    await put('unet/diffusion_pytorch_model.fp16.safetensors', encodeSafetensors({ 'conv_in.bias': { dtype: 'F16', shape: [1], data: new Uint16Array([0x4c00]) } }));
    await put('vae/diffusion_pytorch_model.fp16.safetensors', encodeSafetensors({
      'encoder.mid_block.attentions.0.query.weight': { dtype: 'F16', shape: [2, 2], data: new Uint16Array(4) },
      'encoder.mid_block.attentions.0.proj_attn.bias': { dtype: 'F16', shape: [2], data: new Uint16Array(2) },
    }));
    await put('text_encoder/model.safetensors.index.json', JSON.stringify({ weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' } }));
    await put('text_encoder/model-00001-of-00002.safetensors', encodeSafetensors({ a: t(1) }));
    await put('text_encoder/model-00002-of-00002.safetensors', encodeSafetensors({ b: t(2) }));
    await put('pickled/unet/diffusion_pytorch_model.bin', new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0, 0, 0, 0]));
    await put('model.ckpt', new Uint8Array([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8]));
    await put('sdxl.safetensors', encodeSafetensors({ 'conditioner.embedders.0.x': t(0), 'model.diffusion_model.x': t(0) }));
    await put('sd2.safetensors', encodeSafetensors({ 'cond_stage_model.model.x': t(0) }));
    await put('extra.safetensors', encodeSafetensors({ 'model.diffusion_model.input_blocks.0.0.weight': t(0), 'model_ema.decay': t(0), betas: t(0), 'lora_te_x.alpha': t(0) }));
  });
  afterAll(async () => { await rm(dir, { recursive: true }); });

  it('prefers fp32 or fp16 as asked and falls back to what exists', async () => {
    const files = nodeModelFiles(dir);
    const fp32 = await loadComponentWeights(files, 'unet');
    expect(Array.from(await fp32.readF32('conv_in.bias'))).toEqual([32]);
    const fp16 = await loadComponentWeights(files, 'unet', { preferFp16: true });
    expect(fp16.tensor('conv_in.bias').dtype).toBe('F16');
    expect(Array.from(await fp16.readF32('conv_in.bias'))).toEqual([16]);
    const vae = await loadComponentWeights(files, 'vae'); // only fp16 exists
    expect(vae.keys().sort()).toEqual(['encoder.mid_block.attentions.0.to_out.0.bias', 'encoder.mid_block.attentions.0.to_q.weight']);
    expect(vae.tensor('encoder.mid_block.attentions.0.to_q.weight', [2, 2]).dtype).toBe('F16');
    const te = await loadComponentWeights(files, 'text_encoder'); // sharded
    expect(Array.from(await te.readF32('b'))).toEqual([2]);
    await Promise.all([fp32, fp16, vae, te].map((w) => w.close()));
  });

  it('explains pickle checkpoints and missing weights', async () => {
    await expect(loadComponentWeights(nodeModelFiles(join(dir, 'pickled')), 'unet')).rejects.toThrow(
      /diffusion_pytorch_model\.bin: this is a PyTorch pickle checkpoint .*convert it to \.safetensors/);
    await expect(loadComponentWeights(nodeModelFiles(join(dir, 'pickled')), 'vae')).rejects.toThrow(/no weights for vae \(looked for vae\/diffusion_pytorch_model\.safetensors/);
  });

  it('rejects checkpoints that are not SD 1.x, and unknown keys', async () => {
    const single = async (path: string) => {
      const src = await fileByteSource(path);
      try { return await loadSingleFileWeights(src); } finally { await src.close!(); }
    };
    await expect(single(join(dir, 'sdxl.safetensors'))).rejects.toThrow(/not a Stable Diffusion 1\.x .*SDXL/);
    await expect(single(join(dir, 'sd2.safetensors'))).rejects.toThrow(/SD 2\.x/);
    await expect(single(`${GOLDEN}unet/diffusion_pytorch_model.safetensors`)).rejects.toThrow(/diffusers component file/);
    await expect(single(join(dir, 'extra.safetensors'))).rejects.toThrow(/1 keys do not belong .*: lora_te_x\.alpha$/);
    await expect(single(join(dir, 'model.ckpt'))).rejects.toThrow(/model\.ckpt: this is a PyTorch pickle checkpoint/);
  });

  it('lists files recursively and refuses paths outside the folder', async () => {
    const files = nodeModelFiles(dir);
    expect((await files.list())).toContain('text_encoder/model-00002-of-00002.safetensors');
    expect(await files.open('nope/x.safetensors')).toBeNull();
    expect(await files.readText('text_encoder/missing.json')).toBeNull();
    await expect(files.open('../etc/passwd')).rejects.toThrow(/invalid model-relative path/);
  });
});
