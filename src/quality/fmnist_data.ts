// The held-out Fashion-MNIST test images shipped with the embedded model (weights/fmnist/
// testset.safetensors: `images` U8 [N, 28, 28], `labels` I64 [N]; never used in training), in the
// model's input format: 28x28 padded by 2 px of background to 32x32, grey copied to 3 channels,
// scaled to [-1, 1] (as train/train_fmnist.py prepares its data).
import type { ModelFiles } from '../weights/model_source.js';
import { openSafetensors } from '../weights/safetensors.js';

export const CLASS_PROMPTS = ['a t-shirt', 'a trouser', 'a pullover', 'a dress', 'a coat',
  'a sandal', 'a shirt', 'a sneaker', 'a bag', 'an ankle boot'] as const;

export interface TestSet { count: number; size: number; images: Float32Array; labels: number[] }

export async function loadTestSet(files: ModelFiles, limit = Infinity): Promise<TestSet> {
  const src = await files.open('testset.safetensors');
  if (!src) throw new Error(`${files.name}: no testset.safetensors (the held-out images of the embedded model)`);
  try {
    const f = await openSafetensors(src);
    const info = f.tensors.get('images');
    if (!info || info.dtype !== 'U8' || info.shape.length !== 3) throw new Error(`${src.name}: expected 'images' U8 [N, 28, 28]`);
    const [total, h, w] = info.shape as [number, number, number];
    const count = Math.min(total, limit), size = 32, pad = (size - h) / 2;
    const raw = await f.readRaw('images');
    const images = new Float32Array(count * 3 * size * size).fill(-1);
    for (let n = 0; n < count; n++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const v = raw[(n * h + y) * w + x]! / 127.5 - 1;
      for (let c = 0; c < 3; c++) images[((n * 3 + c) * size + y + pad) * size + x + pad] = v;
    }
    const labels = (await f.readI64AsNumbers('labels')).slice(0, count);
    return { count, size, images, labels };
  } finally {
    await src.close?.();
  }
}
