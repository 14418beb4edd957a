// CPU reference for patch_embed_backward.wgsl: the input gradient of patch_embed
// (reference/patch_embed.ts). dy [N, T, D] -> dx [N, C, S, S]; the class row (t = 0) carries no
// pixel gradient; patch rows go back through the transposed patch matmul:
//   dx[n, c, py*p + ky, px*p + kx] = sum_d dy[n, 1 + py*G + px, d] * w[d, c, ky, kx]. Float64.
import type { PatchEmbedDims } from './patch_embed.js';

export function patchEmbedBackwardRef(dy: ArrayLike<number>, w: ArrayLike<number>, dims: PatchEmbedDims): Float64Array {
  const { N, C, S, p, D } = dims;
  const G = S / p, T = G * G + 1, K = C * p * p;
  if (!Number.isInteger(G) || dy.length !== N * T * D || w.length !== D * K) throw new Error(`patchEmbedBackwardRef: sizes do not match ${JSON.stringify(dims)}`);
  const dx = new Float64Array(N * C * S * S);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let yy = 0; yy < S; yy++) for (let xx = 0; xx < S; xx++) {
    const t = 1 + Math.floor(yy / p) * G + Math.floor(xx / p);
    const k = (c * p + (yy % p)) * p + (xx % p);
    let acc = 0;
    for (let d = 0; d < D; d++) acc += dy[(n * T + t) * D + d] * w[d * K + k];
    dx[((n * C + c) * S + yy) * S + xx] = acc;
  }
  return dx;
}
