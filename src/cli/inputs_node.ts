// Reading the CLI's inputs: images and masks from PNG or .safetensors, recorded noise, and the
// embedded model's location. Every problem becomes one clear message naming the file and tensor.
import { existsSync } from 'node:fs';
import { extname } from 'node:path';
import { checkBinaryMask, rgbaToTensor } from '../pipeline/image.js';
import { maskFromRgba } from '../pipeline/mask_rules.js'; // the page's rule too (web/ui/mask_file.ts)
import type { ImageData4 } from '../pipeline/tasks.js';
import { recordedNoise, type NoiseSource } from '../sampler/noise.js';
import { fileByteSource } from '../weights/byte_source_node.js';
import { openSafetensors, type SafetensorsFile } from '../weights/safetensors.js';
import { readPng } from './png_node.js';

async function openTensors(path: string): Promise<SafetensorsFile> {
  if (!existsSync(path)) throw new Error(`${path}: no such file`);
  return openSafetensors(await fileByteSource(path));
}

const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16', 'F64']);

/** Tensor `name` of an open file as f32, refusing integer dtypes and NaN/Inf with the file and tensor named. */
async function readFloat(f: SafetensorsFile, path: string, name: string, what: string): Promise<Float32Array> {
  const dtype = f.tensors.get(name)!.dtype;
  if (!FLOAT_DTYPES.has(dtype)) throw new Error(`${path}: tensor '${name}' is ${dtype}; expected float values (F32, F16 or BF16) ${what}`);
  const data = await f.readF32(name);
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) throw new Error(`${path}: tensor '${name}' holds a non-finite value (${data[i]}) at index ${i}`);
  }
  return data;
}

async function readTensor(path: string, name: string, rank: number, what: string): Promise<{ data: Float32Array; shape: number[] }> {
  const f = await openTensors(path);
  try {
    const t = f.tensors.get(name);
    if (!t) throw new Error(`${path}: missing tensor '${name}' (${what}); it has: ${[...f.tensors.keys()].join(', ') || 'none'}`);
    if (t.shape.length !== rank) throw new Error(`${path}: tensor '${name}' has shape [${t.shape.join(', ')}], expected ${what}`);
    return { data: await readFloat(f, path, name, what), shape: [...t.shape] };
  } finally {
    await f.source.close?.();
  }
}

/** -i/--image: a PNG (RGB, alpha ignored) or a .safetensors with `image` [N, C, H, W] in [-1, 1]. */
export async function readImageArg(path: string): Promise<ImageData4> {
  if (extname(path).toLowerCase() === '.safetensors') {
    const { data, shape } = await readTensor(path, 'image', 4, '[N, 3, H, W] in [-1, 1]');
    // RGB only: a 4-channel (RGBA) or grey tensor would otherwise fail deep inside the sampler
    if (shape[1] !== 3) throw new Error(`${path}: tensor 'image' has shape [${shape.join(', ')}] with ${shape[1]} channels; expected [N, 3, H, W] (RGB) in [-1, 1]`);
    return { data, shape: shape as ImageData4['shape'] };
  }
  const png = readPng(path);
  return { data: rgbaToTensor(png), shape: [1, 3, png.height, png.width] };
}

/** --mask: a PNG (white = fill, black = keep) or a .safetensors with `mask` [N, 1, H, W] of 0/1 (1 = known). */
export async function readMaskArg(path: string): Promise<ImageData4> {
  if (extname(path).toLowerCase() === '.safetensors') {
    const { data, shape } = await readTensor(path, 'mask', 4, '[N, 1, H, W] of 0/1');
    if (shape[1] !== 1) throw new Error(`${path}: tensor 'mask' has shape [${shape.join(', ')}], expected [N, 1, H, W]`);
    checkBinaryMask(data, `${path}: mask`);
    return { data, shape: shape as ImageData4['shape'] };
  }
  const png = readPng(path);
  return { data: maskFromRgba(png, `mask ${path}`), shape: [1, 1, png.height, png.width] };
}

/** --noise: `x_init` [N, ...] and `z_list` [steps, N, ...] as in the golden files. */
export async function readNoiseArg(path: string, steps: number): Promise<NoiseSource> {
  const f = await openTensors(path);
  try {
    for (const k of ['x_init', 'z_list']) if (!f.tensors.has(k)) throw new Error(`${path}: missing tensor '${k}' (noise files hold x_init [N,4,h,w] and z_list [steps,N,4,h,w])`);
    const zShape = f.tensors.get('z_list')!.shape;
    if (zShape[0] !== steps) throw new Error(`${path}: z_list has ${zShape[0]} steps but --steps is ${steps}`);
    const what = '(noise files hold x_init [N,4,h,w] and z_list [steps,N,4,h,w])';
    return recordedNoise(await readFloat(f, path, 'x_init', what), await readFloat(f, path, 'z_list', what), steps);
  } finally {
    await f.source.close?.();
  }
}

export { embeddedModelPath, packageRoot } from '../weights/embedded_node.js';
