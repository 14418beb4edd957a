// The float64 CPU references, composed into the whole style path (clip_ref.ts), against the golden
// float64 run (transformers + torch autograd in float64): every stage to ~1e-10 of its scale.
// This checks the references (and so the definition the GPU kernels are tested against).
import { describe, expect, test } from 'vitest';
import { styleGramRef, styleLossRef, type StyleRef } from './clip_ref.js';
import { relMax, styleGolden, TINY_CFG, tinyWeights } from './golden_helpers.js';

describe('style references vs golden float64', async () => {
  const w = await tinyWeights();
  const inp = await styleGolden('style_inputs');
  const f64 = await styleGolden('style_f64');
  const img = await inp.f32('img'), imgRef = await inp.f32('img_ref');
  const shape = inp.shape('img');
  const gRef = styleGramRef(imgRef, shape, TINY_CFG, w);
  const r = styleLossRef(img, shape, gRef, TINY_CFG, w);
  const cases: [string, (r: StyleRef) => ArrayLike<number>][] = [
    ['pixel_values', (s) => s.fw.pixels], ['F', (s) => s.F], ['G', (s) => s.G], ['L', (s) => s.L],
    ['backward.dL_dG', (s) => s.dG], ['backward.dL_dF', (s) => s.dF.subarray(TINY_CFG.hidden)] /* CLS row dropped (N = 1) */,
    ['backward.dL_dhidden_states.3', (s) => s.bw.dHidden[3]], ['backward.dL_dhidden_states.2', (s) => s.bw.dHidden[2]],
    ['backward.dL_dhidden_states.1', (s) => s.bw.dHidden[1]], ['backward.dL_dhidden_states.0', (s) => s.bw.dHidden[0]],
    ['backward.dL_dembeddings', (s) => s.bw.dEmb], ['backward.dL_dpixel_values', (s) => s.bw.dPixels],
    ['backward.dL_dresized', (s) => s.bw.dResized], ['grad', (s) => s.grad],
  ];
  test('G_ref', async () => expect(relMax(gRef, await f64.f64('G_ref'))).toBeLessThan(1e-10));
  test.each(cases)('%s', async (name, get) => {
    expect(relMax(get(r), await f64.f64(name))).toBeLessThan(1e-10);
  });
});
