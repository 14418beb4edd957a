// CPU reference for patch_embed.wgsl: transformers' CLIPVisionEmbeddings.
//   x [N, C, S, S] (pixel_values), w [D, C, p, p] (Conv2d stride p, no bias), cls [D], pos [T, D]
//   -> [N, T, D], T = 1 + (S / p)^2: row 0 = cls + pos[0], row 1 + py * (S/p) + px = conv patch + pos.
// The conv with stride == kernel is a matmul over non-overlapping patches (k = (c * p + ky) * p + kx).
// Float64.

export interface PatchEmbedDims { N: number; C: number; S: number; p: number; D: number }

export function patchEmbedRef(x: ArrayLike<number>, w: ArrayLike<number>, cls: ArrayLike<number>, pos: ArrayLike<number>,
                              dims: PatchEmbedDims): Float64Array {
  const { N, C, S, p, D } = dims;
  const G = S / p, P = G * G, T = P + 1, K = C * p * p;
  if (!Number.isInteger(G) || x.length !== N * C * S * S || w.length !== D * K || cls.length !== D || pos.length !== T * D) {
    throw new Error(`patchEmbedRef: sizes do not match ${JSON.stringify(dims)}`);
  }
  const y = new Float64Array(N * T * D);
  for (let n = 0; n < N; n++) {
    for (let d = 0; d < D; d++) y[n * T * D + d] = cls[d] + pos[d];
    for (let py = 0; py < G; py++) for (let px = 0; px < G; px++) {
      const t = 1 + py * G + px;
      for (let d = 0; d < D; d++) {
        let acc = 0;
        for (let c = 0; c < C; c++) for (let ky = 0; ky < p; ky++) for (let kx = 0; kx < p; kx++) {
          acc += w[d * K + (c * p + ky) * p + kx] * x[((n * C + c) * S + py * p + ky) * S + px * p + kx];
        }
        y[(n * T + t) * D + d] = acc + pos[t * D + d];
      }
    }
  }
  return y;
}
