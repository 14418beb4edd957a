// `tether superres --method dps` (issue 15) end to end on the embedded model (weights/fmnist,
// 32 x 32 images, VAE factor 4): the gradient baseline on a pixel-space constraint, its direction
// J^T D^T A^T (y - A(D(x0))) backpropagated through the UNet and the VAE decoder (src/vae/vjp).
// Checked by number: the output exists, is finite, and its observation residual
// ||A(output) - y|| (A = the task's antialiased bicubic x4 downscale, y = the input) is smaller
// than the unconstrained sample's (--method none, same seed). The raw decode is measured
// (--no-keep-known): the default projection onto A x = y would make both residuals ~0.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, test } from 'vitest';
import { readPngText } from '../../src/cli/png_node.js';
import { validateRequest } from '../../src/pipeline/task_registry.js';
import { bicubicDownMatrix } from '../../src/sampler/constraints/pixel_operators.js';
import { png, tether, tetherWrites } from './cli_harness.js';

const MODEL = 'weights/fmnist', S = 8, SCALE = 4, OUT = S * SCALE;
const dir = mkdtempSync(join(tmpdir(), 'tether-dps-sr-'));
// a grey blob on black (the embedded model draws grey Fashion-MNIST items)
const lowValue = (x: number, y: number) => Math.round(255 * Math.exp(-((x - 3.5) ** 2 + (y - 3.5) ** 2) / 6));
const low = png(join(dir, 'low.png'), S, S, (x, y) => { const v = lowValue(x, y); return [v, v, v]; });

/** RMS (0..255) of A(output) - y over the three channels, A = bicubic x4 downscale per axis */
function observationRms(out: string): { rms: number; finite: boolean; size: [number, number] } {
  const p = PNG.sync.read(readFileSync(out));
  const A = bicubicDownMatrix(OUT, SCALE);
  let s = 0, n = 0, finite = true;
  for (let c = 0; c < 3; c++) for (let i = 0; i < S; i++) for (let j = 0; j < S; j++) {
    let v = 0;
    for (let y = 0; y < OUT; y++) {
      const ay = A.data[i * OUT + y]!;
      if (ay === 0) continue;
      for (let x = 0; x < OUT; x++) v += ay * A.data[j * OUT + x]! * p.data[4 * (y * p.width + x) + c]!;
    }
    finite &&= Number.isFinite(v);
    s += (v - lowValue(j, i)) ** 2; n++;
  }
  return { rms: Math.sqrt(s / n), finite, size: [p.width, p.height] };
}

describe('tether superres --method dps (embedded model)', () => {
  test('runs end to end, records the method, and lowers the observation residual below the unconstrained sample\'s', async () => {
    const raw = ['--no-keep-known'];
    const run = (method: string) => tetherWrites(join(dir, `${method}.png`), 'superres', '-i', low, '--scale', String(SCALE), '--method', method,
      '--steps', '10', '--K', '3', '--seed', '5', ...raw, '--model', MODEL, '-q');
    const dps = await run('dps'), none = await run('none');
    expect(JSON.parse(readPngText(readFileSync(dps)).tether!)).toMatchObject({ method: 'dps', K: 3, steps: 10 });
    const [rDps, rNone] = [observationRms(dps), observationRms(none)];
    console.log(`||A(out) - y|| RMS (0..255), ${raw.length ? 'raw decode' : 'as written'}: dps ${rDps.rms.toFixed(2)}, unconstrained ${rNone.rms.toFixed(2)}`);
    expect(rDps.size).toEqual([OUT, OUT]);
    expect(rDps.finite && Number.isFinite(rDps.rms)).toBe(true);
    expect(rDps.rms).toBeLessThan(rNone.rms);
  }, 600_000);

  test('still refused with guidance and without a constraint, naming the flags', async () => {
    const g = await tether('superres', '-i', low, '--method', 'dps', '--guidance', '3', '--model', MODEL, '-o', join(dir, 'g.png'));
    expect(g.code).not.toBe(0);
    expect(g.message).toMatch(/--method dps runs without classifier-free guidance \(--guidance 1\)/);
    const gen = await tether('generate', '--method', 'dps', '--model', MODEL, '-o', join(dir, 'gen.png'));
    expect(gen.code).not.toBe(0);
    expect(gen.message).toMatch(/--method dps needs a constraint/);
  }, 300_000);

  test('the task table lets dps run every pixel-space constraint and still refuses style', () => {
    const img = { shape: [1, 3, 32, 32] }, mask = { shape: [1, 1, 32, 32] }, env = { factor: 4, hasStyleModel: true };
    const msgs = (r: Parameters<typeof validateRequest>[0]) => validateRequest(r, env).map((p) => p.message);
    for (const task of ['superres', 'deblur', 'colorize'] as const) expect(msgs({ task, method: 'dps', image: { shape: [1, 3, 8, 8] } })).toEqual([]);
    expect(msgs({ task: 'inpaint', method: 'dps', image: img, mask, inpaintSpace: 'pixel' })).toEqual([]);
    expect(msgs({ task: 'style', method: 'dps', styleImage: img, guidance: 1 }).join('; ')).toMatch(/method dps cannot guide style/);
    expect(msgs({ task: 'inpaint', method: 'dps', image: img, mask, styleImage: img }).join('; ')).toMatch(/method dps cannot guide style/);
  });
});
