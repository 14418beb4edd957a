// Conversions between 8-bit RGBA pixels and the models' NCHW float images in [-1, 1], and mask
// handling. Pure functions: used by the Node CLI and the web page alike.

export interface RgbaImage { width: number; height: number; data: Uint8Array | Uint8ClampedArray }

/** RGBA pixels -> [1, 3, H, W] float32 in [-1, 1] (alpha ignored). */
export function rgbaToTensor(img: RgbaImage): Float32Array {
  const { width: W, height: H, data } = img;
  const out = new Float32Array(3 * H * W);
  for (let i = 0; i < H * W; i++) for (let c = 0; c < 3; c++) out[c * H * W + i] = data[4 * i + c] / 127.5 - 1;
  return out;
}

/** [3, H, W] (or [1, H, W] grey) float in [-1, 1] -> RGBA pixels (clamped, rounded). */
export function tensorToRgba(x: Float32Array, channels: number, H: number, W: number, offset = 0): RgbaImage {
  const data = new Uint8ClampedArray(4 * H * W);
  for (let i = 0; i < H * W; i++) {
    for (let c = 0; c < 3; c++) {
      const v = x[offset + (channels === 1 ? 0 : c) * H * W + i];
      data[4 * i + c] = Math.round((Math.min(1, Math.max(-1, v)) + 1) * 127.5);
    }
    data[4 * i + 3] = 255;
  }
  return { width: W, height: H, data };
}

/**
 * A mask image -> [H, W] of 1 = known, 0 = to fill. Convention of inpainting tools (and diffusers'
 * inpainting pipeline): WHITE marks the region to fill, BLACK what is kept. Anything else (grey,
 * anti-aliased edges) is an error, so a soft mask never silently becomes a different hard one.
 */
export function maskFromRgba(img: RgbaImage, what = 'mask'): Float32Array {
  const { width: W, height: H, data } = img;
  const out = new Float32Array(H * W);
  for (let i = 0; i < H * W; i++) {
    const r = data[4 * i], g = data[4 * i + 1], b = data[4 * i + 2];
    if (r === 255 && g === 255 && b === 255) out[i] = 0;
    else if (r === 0 && g === 0 && b === 0) out[i] = 1;
    else throw new Error(`${what} is not binary: pixel (${i % W}, ${Math.floor(i / W)}) is rgb(${r}, ${g}, ${b}); use pure black (keep) and white (fill)`);
  }
  return out;
}

/** Known-pixel mask given as 0/1 floats (the golden files' convention: 1 = known). */
export function checkBinaryMask(mask: Float32Array, what = 'mask'): Float32Array {
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] !== 0 && mask[i] !== 1) throw new Error(`${what} is not binary: value ${mask[i]} at index ${i} (expected 0 or 1)`);
  }
  return mask;
}
