// The page's TaskSpec -> PipelineRequest translation and its checks, without a browser: a request
// carries only the fields its task takes (the inpaint space only for inpainting), the table's
// defaults are the only ones (the page's controls render them), and the table's problems are
// worded with the page's control labels.
import { describe, expect, it } from 'vitest';
import { TASKS } from '../../src/pipeline/task_registry.js';
import { LABEL_OF, problemText, specProblems, toTaskRequest, type TaskSpec } from '../../web/task_spec.js';

const S = 8;
const base: TaskSpec = {
  task: 'inpaint', prompt: '', negativePrompt: '', guidance: 1, steps: 10, K: 5, lr: [0.5, 0.1], h: 0.005,
  schedule: 'exact', method: 'newton', seed: 3,
  image: { data: new Float32Array(3 * S * S), shape: [1, 3, S, S] },
  mask: { data: new Float32Array(S * S).map((_, i) => (i < 20 ? 0 : 1)), shape: [1, 1, S, S] },
};

describe('task spec', () => {
  it('passes the inpaint space to the engine for inpainting only', () => {
    expect(toTaskRequest({ ...base, inpaintSpace: 'pixel' }).inpaintSpace).toBe('pixel');
    expect(toTaskRequest({ ...base, inpaintSpace: 'latent' }).inpaintSpace).toBe('latent');
    const deblur = toTaskRequest({ ...base, task: 'deblur', blurSigma: 1, inpaintSpace: 'pixel' });
    expect([deblur.inpaintSpace, deblur.mask, deblur.blurSigma]).toEqual([undefined, undefined, 1]);
  });

  it('refuses the replace baseline in pixel space, in the table\'s words with the page\'s labels', () => {
    expect(specProblems({ ...base, inpaintSpace: 'pixel' }, 4)).toEqual([]);
    expect(specProblems({ ...base, method: 'replace', K: 0, inpaintSpace: 'latent' }, 4)).toEqual([]);
    expect(specProblems({ ...base, method: 'replace', K: 0, inpaintSpace: 'pixel' }, 4))
      .toEqual(['Method replace replaces known latent cells: it needs Inpaint space latent.']);
    expect(specProblems({ ...base, steps: 7 }, 4)).toEqual(['Steps must divide 1000 for the constrained sampler (got 7); e.g. 10, 20, 25, 50.']);
  });

  it('every field the table names has a page label', () => {
    const fields = ['steps', 'K', 'lr', 'h', 'method', 'guidance', 'seed', 'width', 'height', 'image', 'mask', 'inpaintSpace',
      'feather', 'scale', 'blurSigma', 'styleImage', 'styleWeight', 'count'];
    for (const f of fields) expect(LABEL_OF[f], f).toBeDefined();
    expect(problemText({ field: 'K', message: '', template: '{method} newton needs {K} >= 1' })).toBe('Method newton needs K >= 1.');
  });

  it('style is the library\'s own task: no translation into generate', () => {
    const styleImage = { data: new Float32Array(3 * 4 * 4), shape: [1, 3, 4, 4] as [number, number, number, number] };
    const req = toTaskRequest({ ...base, task: 'style', image: undefined, mask: undefined, width: 8, height: 8, styleImage, ...TASKS.style.defaults });
    expect(req).toMatchObject({ task: 'style', width: 8, height: 8, styleImage, K: TASKS.style.defaults.K });
    expect(req.image).toBeUndefined();
  });
});
