// The page's TaskSpec -> TaskRequest translation and its checks, without a browser: the inpaint
// space reaches the engine only for inpainting, and the replace baseline is refused in pixel space.
import { describe, expect, it } from 'vitest';
import { specProblems, toTaskRequest, type TaskSpec } from '../../web/task_spec.js';

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
    expect(toTaskRequest({ ...base, task: 'deblur', blurSigma: 1, inpaintSpace: 'pixel' }).inpaintSpace).toBeUndefined();
  });

  it('refuses the replace baseline in pixel space, with a message', () => {
    expect(specProblems({ ...base, inpaintSpace: 'pixel' }, 4)).toEqual([]);
    expect(specProblems({ ...base, method: 'replace', K: 0, inpaintSpace: 'latent' }, 4)).toEqual([]);
    expect(specProblems({ ...base, method: 'replace', K: 0, inpaintSpace: 'pixel' }, 4))
      .toEqual(['The replace baseline replaces latent cells: choose latent space for it.']);
  });
});
