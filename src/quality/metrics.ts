// Image-quality metrics on the CPU, for the demo and bench/quality. Images are [C, H, W] float
// arrays in [-1, 1]; metrics are computed on [0, 1] (data range 1), as skimage does by default
// for float images with data_range=1.

/** PSNR in dB over the pixels where `weight` (per pixel, [H*W]) is 1 (all pixels when omitted). */
export function psnr(a: Float32Array, b: Float32Array, C: number, H: number, W: number, weight?: Float32Array): number {
  let se = 0, n = 0;
  for (let c = 0; c < C; c++) for (let i = 0; i < H * W; i++) {
    if (weight && weight[i] === 0) continue;
    const d = (a[c * H * W + i] - b[c * H * W + i]) / 2; // [-1,1] -> [0,1] scale
    se += d * d; n++;
  }
  if (n === 0) return NaN;
  const mse = se / n;
  return mse === 0 ? Infinity : 10 * Math.log10(1 / mse);
}

function gaussianWindow(size = 11, sigma = 1.5): number[] {
  const r = (size - 1) / 2, k = Array.from({ length: size }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const s = k.reduce((x, y) => x + y, 0);
  return k.map((v) => v / s);
}

/** Separable Gaussian filter with edge replication (scipy 'nearest'). */
function blur(x: Float64Array, H: number, W: number, k: number[]): Float64Array {
  const r = (k.length - 1) / 2, tmp = new Float64Array(H * W), out = new Float64Array(H * W);
  for (let y = 0; y < H; y++) for (let xx = 0; xx < W; xx++) {
    let s = 0;
    for (let j = -r; j <= r; j++) s += k[j + r] * x[y * W + Math.min(W - 1, Math.max(0, xx + j))];
    tmp[y * W + xx] = s;
  }
  for (let y = 0; y < H; y++) for (let xx = 0; xx < W; xx++) {
    let s = 0;
    for (let j = -r; j <= r; j++) s += k[j + r] * tmp[Math.min(H - 1, Math.max(0, y + j)) * W + xx];
    out[y * W + xx] = s;
  }
  return out;
}

/**
 * SSIM (Wang et al. 2004; Gaussian window 11, sigma 1.5, K1 0.01, K2 0.03, data range 1), the
 * mean of the SSIM map over channels and over the pixels where `weight` is 1.
 */
export function ssim(a: Float32Array, b: Float32Array, C: number, H: number, W: number, weight?: Float32Array): number {
  const k = gaussianWindow(), C1 = 0.01 ** 2, C2 = 0.03 ** 2;
  let total = 0, n = 0;
  for (let c = 0; c < C; c++) {
    const x = new Float64Array(H * W), y = new Float64Array(H * W);
    for (let i = 0; i < H * W; i++) { x[i] = (a[c * H * W + i] + 1) / 2; y[i] = (b[c * H * W + i] + 1) / 2; }
    const mx = blur(x, H, W, k), my = blur(y, H, W, k);
    const xx = blur(x.map((v) => v * v), H, W, k), yy = blur(y.map((v) => v * v), H, W, k), xy = blur(x.map((v, i) => v * y[i]), H, W, k);
    for (let i = 0; i < H * W; i++) {
      if (weight && weight[i] === 0) continue;
      const vx = xx[i] - mx[i] ** 2, vy = yy[i] - my[i] ** 2, cxy = xy[i] - mx[i] * my[i];
      total += ((2 * mx[i] * my[i] + C1) * (2 * cxy + C2)) / ((mx[i] ** 2 + my[i] ** 2 + C1) * (vx + vy + C2));
      n++;
    }
  }
  return n ? total / n : NaN;
}

/** Eigen-decomposition of a symmetric matrix (cyclic Jacobi): returns eigenvalues and column eigenvectors. */
export function symmetricEigen(m: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(m), v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) {
      const apq = a[p * n + q];
      if (Math.abs(apq) < 1e-300) continue;
      const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
      const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
      const c = 1 / Math.sqrt(t * t + 1), s = t * c;
      for (let k = 0; k < n; k++) {
        const akp = a[k * n + p], akq = a[k * n + q];
        a[k * n + p] = c * akp - s * akq; a[k * n + q] = s * akp + c * akq;
      }
      for (let k = 0; k < n; k++) {
        const apk = a[p * n + k], aqk = a[q * n + k];
        a[p * n + k] = c * apk - s * aqk; a[q * n + k] = s * apk + c * aqk;
      }
      for (let k = 0; k < n; k++) {
        const vkp = v[k * n + p], vkq = v[k * n + q];
        v[k * n + p] = c * vkp - s * vkq; v[k * n + q] = s * vkp + c * vkq;
      }
    }
  }
  return { values: Float64Array.from({ length: n }, (_, i) => a[i * n + i]), vectors: v };
}

/** Mean and covariance (unbiased) of feature rows [count, dim]. */
export function featureStats(feats: Float32Array, count: number, dim: number): { mu: Float64Array; sigma: Float64Array } {
  const mu = new Float64Array(dim), sigma = new Float64Array(dim * dim);
  for (let r = 0; r < count; r++) for (let i = 0; i < dim; i++) mu[i] += feats[r * dim + i] / count;
  for (let r = 0; r < count; r++) for (let i = 0; i < dim; i++) {
    const di = feats[r * dim + i] - mu[i];
    for (let j = i; j < dim; j++) sigma[i * dim + j] += (di * (feats[r * dim + j] - mu[j])) / Math.max(count - 1, 1);
  }
  for (let i = 0; i < dim; i++) for (let j = 0; j < i; j++) sigma[i * dim + j] = sigma[j * dim + i];
  return { mu, sigma };
}

/**
 * Fréchet distance between two Gaussians (FID's formula):
 * |mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2), computed with symmetric square roots.
 */
export function frechetDistance(a: { mu: Float64Array; sigma: Float64Array }, b: { mu: Float64Array; sigma: Float64Array }, dim: number): number {
  const sqrtSym = (m: Float64Array) => {
    const { values, vectors } = symmetricEigen(m, dim);
    const out = new Float64Array(dim * dim);
    for (let k = 0; k < dim; k++) {
      const s = Math.sqrt(Math.max(values[k], 0));
      for (let i = 0; i < dim; i++) for (let j = 0; j < dim; j++) out[i * dim + j] += s * vectors[i * dim + k] * vectors[j * dim + k];
    }
    return out;
  };
  const mul = (x: Float64Array, y: Float64Array) => {
    const o = new Float64Array(dim * dim);
    for (let i = 0; i < dim; i++) for (let k = 0; k < dim; k++) { const xik = x[i * dim + k]; for (let j = 0; j < dim; j++) o[i * dim + j] += xik * y[k * dim + j]; }
    return o;
  };
  const s1h = sqrtSym(a.sigma);
  const inner = mul(mul(s1h, b.sigma), s1h);
  for (let i = 0; i < dim; i++) for (let j = 0; j < i; j++) { const avg = (inner[i * dim + j] + inner[j * dim + i]) / 2; inner[i * dim + j] = avg; inner[j * dim + i] = avg; }
  const { values } = symmetricEigen(inner, dim);
  let tr = 0, dmu = 0;
  for (let i = 0; i < dim; i++) { tr += a.sigma[i * dim + i] + b.sigma[i * dim + i]; dmu += (a.mu[i] - b.mu[i]) ** 2; }
  for (const v of values) tr -= 2 * Math.sqrt(Math.max(v, 0));
  return dmu + tr;
}
