// Known pixels are kept (ours, on top of the paper; method.md marks the paper's parts). The
// latent constraint only pins latent cells whose whole patch is known, and the decoder does not
// reproduce even those exactly, so a raw inpainting result changes "keep" pixels (up to 112/255
// at 32x32 on the embedded model). After decoding, the known region is therefore pasted back,
// as diffusers' `apply_overlay` and A1111 do — but the seam is feathered differently: they blend
// the ORIGINAL image into the hole with a blurred mask, which leaks what the user asked to remove
// and, blurred both ways, also changes known pixels. Here known pixels are copied exactly, and the
// hole receives the boundary mismatch (input - result, measured on known pixels only, smoothed by
// a normalised Gaussian), faded out linearly over `feather` pixels from the nearest known pixel:
// continuous at the seam, nothing of the hole's original content used (a one-sided, decaying
// form of seamless cloning).

export interface KeepKnownOptions {
  /** width in pixels over which the seam correction fades into the hole (0: a hard paste) */
  feather: number;
}

/**
 * result, image: [N, C, H, W] in [-1, 1]; mask: [N, 1, H, W] with 1 = known.
 * Returns a new array: known pixels = image, hole = result + faded seam correction.
 */
export function keepKnown(result: Float32Array, image: Float32Array, mask: Float32Array,
                          shape: readonly [number, number, number, number], { feather }: KeepKnownOptions): Float32Array {
  const [N, C, H, W] = shape;
  const px = H * W;
  if (result.length !== N * C * px || image.length !== N * C * px) throw new Error(`keepKnown: images of ${result.length} and ${image.length} values for [${shape}]`);
  if (mask.length !== N * px) throw new Error(`keepKnown: mask of ${mask.length} values for ${N} masks of ${W}x${H}`);
  if (!(feather >= 0)) throw new Error(`keepKnown: feather must be >= 0 pixels (got ${feather})`);
  const out = new Float32Array(result.length);
  for (let n = 0; n < N; n++) {
    const known = mask.subarray(n * px, (n + 1) * px);
    const dist = distanceToKnown(known, H, W);
    const fade = Float32Array.from(dist, (d) => (feather > 0 ? Math.max(0, 1 - d / (feather + 1)) : 0));
    const sigma = Math.max(0.5, feather / 2);
    const den = feather > 0 ? gaussianBlur(known, H, W, sigma) : null;
    for (let c = 0; c < C; c++) {
      const o = (n * C + c) * px;
      const res = result.subarray(o, o + px), img = image.subarray(o, o + px);
      let corr: Float32Array | null = null;
      if (den) {
        const mismatch = new Float32Array(px);
        for (let i = 0; i < px; i++) mismatch[i] = known[i]! * (img[i]! - res[i]!);
        corr = gaussianBlur(mismatch, H, W, sigma);
      }
      for (let i = 0; i < px; i++) {
        if (known[i]! > 0.5) { out[o + i] = img[i]!; continue; }
        const d = corr && fade[i]! > 0 && den![i]! > 1e-6 ? (fade[i]! * corr[i]!) / den![i]! : 0;
        out[o + i] = res[i]! + d;
      }
    }
  }
  return out;
}

/** Euclidean distance (pixels) from each pixel to the nearest known one; 0 on known pixels, Infinity if none is known. */
export function distanceToKnown(known: ArrayLike<number>, H: number, W: number): Float32Array {
  // exact squared Euclidean distance transform, separable (Felzenszwalb & Huttenlocher)
  const INF = 1e20;
  const f = new Float64Array(H * W);
  for (let i = 0; i < H * W; i++) f[i] = known[i]! > 0.5 ? 0 : INF;
  const col = new Float64Array(Math.max(H, W));
  const tmp = new Float64Array(Math.max(H, W));
  for (let x = 0; x < W; x++) {
    for (let y = 0; y < H; y++) col[y] = f[y * W + x]!;
    edt1d(col, H, tmp);
    for (let y = 0; y < H; y++) f[y * W + x] = tmp[y]!;
  }
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) col[x] = f[y * W + x]!;
    edt1d(col, W, tmp);
    for (let x = 0; x < W; x++) f[y * W + x] = tmp[x]!;
  }
  return Float32Array.from(f, (v) => (v >= INF / 2 ? Infinity : Math.sqrt(v)));
}

/** 1-D squared distance transform of f (lower envelope of parabolas) into d. */
function edt1d(f: Float64Array, n: number, d: Float64Array): void {
  const v = new Int32Array(n), z = new Float64Array(n + 1);
  const cross = (q: number, p: number) => (f[q]! + q * q - (f[p]! + p * p)) / (2 * q - 2 * p);
  let k = 0;
  v[0] = 0; z[0] = -Infinity; z[1] = Infinity;
  for (let q = 1; q < n; q++) {
    let s = cross(q, v[k]!);
    while (s <= z[k]!) { k--; s = cross(q, v[k]!); }   // z[0] = -Infinity ends the loop
    k++; v[k] = q; z[k] = s; z[k + 1] = Infinity;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    while (z[k + 1]! < q) k++;
    const p = v[k]!;
    d[q] = (q - p) * (q - p) + f[p]!;
  }
}

/** Separable Gaussian blur (truncated at 3 sigma, zero outside the image). */
export function gaussianBlur(x: ArrayLike<number>, H: number, W: number, sigma: number): Float32Array {
  const r = Math.ceil(3 * sigma);
  const k = Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const rows = new Float32Array(H * W), out = new Float32Array(H * W);
  for (let y = 0; y < H; y++) {
    for (let xx = 0; xx < W; xx++) {
      let s = 0;
      for (let t = -r; t <= r; t++) { const u = xx + t; if (u >= 0 && u < W) s += k[t + r]! * x[y * W + u]!; }
      rows[y * W + xx] = s;
    }
  }
  for (let y = 0; y < H; y++) {
    for (let xx = 0; xx < W; xx++) {
      let s = 0;
      for (let t = -r; t <= r; t++) { const v = y + t; if (v >= 0 && v < H) s += k[t + r]! * rows[v * W + xx]!; }
      out[y * W + xx] = s;
    }
  }
  return out;
}
