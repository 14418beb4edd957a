// The task table: defaults are the paper's (method.md), problems are named by request field, and
// front-ends can print them in their own names ({field} templates; the CLI's flags).
import { describe, expect, test } from 'vitest';
import { problemText } from '../../src/cli/flags.js';
import { pullBackFor, requestedK, TASKS, TASK_IDS, validateRequest } from '../../src/pipeline/task_registry.js';

const img = (n: number, c: number, h: number, w: number) => ({ shape: [n, c, h, w] });

describe('task table', () => {
  test('pullBackFor: the request\'s, else the task\'s default, else encoder; none without a pixel-space constraint', () => {
    expect(pullBackFor('superres')).toBe('decoder');
    expect(pullBackFor('deblur')).toBe('decoder');
    expect(pullBackFor('deblur', undefined, 'encoder')).toBe('encoder');
    expect(pullBackFor('colorize')).toBe('encoder');
    expect(pullBackFor('inpaint', 'pixel')).toBe('encoder');
    expect(pullBackFor('inpaint', 'pixel', 'decoder')).toBe('decoder');
    expect(pullBackFor('inpaint', 'latent')).toBeUndefined();
    expect(pullBackFor('generate')).toBeUndefined();
  });

  test('defaults: method.md settings per task, one table for all six tasks', () => {
    expect(TASK_IDS).toEqual(['generate', 'inpaint', 'superres', 'deblur', 'colorize', 'style']);
    // the paper's K 5 and lr; ours (issue 13, chosen on validation): 10 steps and K auto at most 5
    expect(TASKS.inpaint.defaults).toMatchObject({ K: 5, innerStop: 'auto', lr: [0.5, 0.1], method: 'newton', guidance: 1, steps: 10, h: 0.005, schedule: 'exact' });
    for (const t of ['superres', 'deblur', 'colorize', 'style'] as const) expect(TASKS[t].defaults).toMatchObject({ steps: 20, innerStop: 'fixed' });
    expect(TASKS.superres.defaults).toMatchObject({ K: 2, lr: 0.25, lrStride: 50 });   // ours (issue 13): lr per stride 50, scaled with the stride; K 2 chosen on validation
    expect(TASKS.style.defaults).toMatchObject({ K: 5, lr: [0.5, 0.1], guidance: 3 });        // w = 2 in the method's form
    expect(TASKS.generate.defaults).toMatchObject({ method: 'none', guidance: 7.5 });
    expect(TASKS.style.runs).toBe('generate');
    expect(TASKS.inpaint.extra).toMatchObject({ inpaintSpace: 'latent', keepKnown: true });
    expect([TASKS.superres.extra.pullBack, TASKS.deblur.extra.pullBack]).toEqual(['decoder', 'decoder']);   // ours (issue 13): chosen on validation
    expect(TASKS.colorize.extra.pullBack).toBeUndefined();                 // not measured: the encoder's
    expect([TASKS.deblur.defaults.method, TASKS.superres.defaults.method]).toEqual(['no-jacobian', 'newton']);   // ours (issue 13): deblurring's chosen on validation
    expect(TASKS.inpaint.extra.pullBack).toBeUndefined();                  // latent inpainting has no pixel error to pull back
  });

  test("a request without K runs the task's default: 'auto' for inpainting, a fixed count elsewhere; a given K is kept", () => {
    expect(requestedK('inpaint', undefined)).toBe('auto');
    expect(requestedK('inpaint', 5)).toBe(5);                                   // a number is a fixed K
    expect(requestedK('inpaint', 'auto')).toBe('auto');
    expect(requestedK('superres', undefined)).toBe(2);
    expect(requestedK('deblur', 'auto')).toBe('auto');
    expect(requestedK('generate', undefined)).toBe(0);
  });

  test('a valid request has no problems; each rule names its field', () => {
    const image = img(1, 3, 32, 32), mask = img(1, 1, 32, 32);
    expect(validateRequest({ task: 'inpaint', image, mask }, { factor: 4 })).toEqual([]);
    const fields = (r: Parameters<typeof validateRequest>[0], f = 4) => validateRequest(r, { factor: f }).map((p) => p.field);
    expect(fields({ task: 'inpaint', image, mask, steps: 30 })).toEqual(['steps']);
    expect(fields({ task: 'generate', steps: 30 })).toEqual([]);                 // plain DDIM takes any step count
    expect(fields({ task: 'inpaint', image, mask, K: 0 })).toEqual(['K']);
    expect(fields({ task: 'inpaint', image, mask: img(1, 1, 16, 32) })).toEqual(['mask']);
    expect(fields({ task: 'inpaint', image, mask: img(2, 1, 32, 32) })).toEqual(['mask']);
    expect(fields({ task: 'inpaint', image, mask, inpaintSpace: 'pixel', method: 'replace' })).toEqual(['method']);
    expect(fields({ task: 'superres', image: img(1, 3, 8, 8), scale: 1 })).toEqual(['scale']);
    expect(fields({ task: 'superres', image: img(1, 3, 9, 9), scale: 2 }, 4)).toEqual(['image']);   // 18 px is no multiple of 4
    expect(fields({ task: 'generate', width: 30 }, 8)).toEqual(['width']);
    expect(fields({ task: 'deblur', image, blurSigma: 0 })).toEqual(['blurSigma']);
    expect(fields({ task: 'superres', image, method: 'replace' })).toEqual(['method']);
    expect(fields({ task: 'style' })).toEqual(['styleImage']);
    expect(fields({ task: 'style', styleImage: img(1, 3, 64, 64) })).toEqual(['styleImage']);  // no CLIP weights loaded
    expect(validateRequest({ task: 'style', styleImage: img(1, 3, 64, 64) }, { factor: 4, hasStyleModel: true })).toEqual([]);
    expect(fields({ task: 'nope' as never })).toEqual(['task']);
  });

  test('messages say fields in library terms; the CLI prints its flags in their place', () => {
    const [p] = validateRequest({ task: 'inpaint', image: img(1, 3, 32, 32), mask: img(1, 1, 32, 32), inpaintSpace: 'pixel', method: 'replace' }, { factor: 4 });
    expect(p!.message).toBe('method replace replaces known latent cells: it needs inpaintSpace latent');
    expect(problemText(p!)).toBe('--method replace replaces known latent cells: it needs --inpaint-space latent');
    const [s] = validateRequest({ task: 'deblur', image: img(1, 3, 32, 32), steps: 7 }, { factor: 4 });
    expect(problemText(s!)).toBe('--steps must divide 1000 for the constrained sampler (got 7); e.g. 10, 20, 25, 50');
    expect(s!.message).not.toMatch(/--/);
  });
});
