// CPU reference for src/kernels/wgsl/conv2d_*.wgsl: plain loops, float64 sums.
// torch.nn.functional.conv2d semantics (groups 1, dilation 1), padding as [top, bottom, left, right].

export interface Conv2dRefOptions {
  stride?: number;
  pad?: number | [number, number, number, number];
  bias?: Float32Array;
  residual?: Float32Array;
  /** per-(sample, output channel) term: channelBias.t[off + n*stride + o] */
  channelBias?: { t: Float32Array; off: number; stride: number };
}

/** [top, bottom, left, right] from a symmetric pad or the 4-tuple. */
export function padOf(pad: number | readonly [number, number, number, number] = 0): [number, number, number, number] {
  return typeof pad === 'number' ? [pad, pad, pad, pad] : [pad[0], pad[1], pad[2], pad[3]];
}

/** Output size of one spatial dimension. */
export function convOutSize(size: number, k: number, stride: number, padBefore: number, padAfter: number): number {
  return Math.floor((size + padBefore + padAfter - k) / stride) + 1;
}

/** x: [N, C, H, W], w: [O, C, kh, kw], bias [O], residual [N, O, Ho, Wo] -> y: [N, O, Ho, Wo] */
export function conv2dRef(x: Float32Array, xShape: readonly number[], w: Float32Array, wShape: readonly number[],
                          opts: Conv2dRefOptions = {}): { y: Float32Array; shape: [number, number, number, number] } {
  const [N, C, H, W] = xShape as [number, number, number, number];
  const [O, Cw, KH, KW] = wShape as [number, number, number, number];
  if (C !== Cw || x.length !== N * C * H * W || w.length !== O * C * KH * KW) throw new Error('conv2dRef: shapes do not fit');
  const s = opts.stride ?? 1;
  const [pt, pb, pl, pr] = padOf(opts.pad);
  const Ho = convOutSize(H, KH, s, pt, pb), Wo = convOutSize(W, KW, s, pl, pr);
  const y = new Float32Array(N * O * Ho * Wo);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      for (let ho = 0; ho < Ho; ho++) {
        for (let wo = 0; wo < Wo; wo++) {
          let acc = opts.bias ? opts.bias[o] : 0;
          for (let c = 0; c < C; c++) {
            for (let i = 0; i < KH; i++) {
              const ih = ho * s - pt + i;
              if (ih < 0 || ih >= H) continue;
              for (let j = 0; j < KW; j++) {
                const iw = wo * s - pl + j;
                if (iw < 0 || iw >= W) continue;
                acc += x[((n * C + c) * H + ih) * W + iw] * w[((o * C + c) * KH + i) * KW + j];
              }
            }
          }
          const idx = ((n * O + o) * Ho + ho) * Wo + wo;
          if (opts.residual) acc += opts.residual[idx];
          const cb = opts.channelBias;
          if (cb) acc += cb.t[cb.off + n * cb.stride + o]!;
          y[idx] = acc;
        }
      }
    }
  }
  return { y, shape: [N, O, Ho, Wo] };
}
