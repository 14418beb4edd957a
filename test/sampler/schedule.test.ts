import { describe, expect, test } from 'vitest';
import { ddimCoefficients, ddimStep, ddimTables, ddimTimesteps } from '../../src/sampler/ddim.js';
import { learningRates, newtonTimesteps, scaledLinearSchedule, stepScalars } from '../../src/sampler/schedule.js';
import { gpuTest } from '../helpers/gpu.js';
import { openGolden } from '../helpers/golden.js';
import { expectClose } from '../helpers/numeric.js';

describe('method schedule (float64-built tables)', () => {
  test('betas and alphas_cumprod equal the sampler goldens bit for bit', async () => {
    const g = await openGolden('goldens_sampler/inpaint_exact.safetensors');
    const s = scaledLinearSchedule();
    expect(Array.from(s.betas)).toEqual(Array.from(await g.f32('betas')));
    expect(Array.from(s.alphasCumprod)).toEqual(Array.from(await g.f32('alphas_cumprod')));
  });

  test('closed form: alphas_cumprod[0] = 1 - 0.00085, betas[999] = 0.012', () => {
    const s = scaledLinearSchedule();
    expect(s.betas[0]).toBe(Math.fround(0.00085));
    expect(s.betas[999]).toBe(Math.fround(0.012));
    expect(s.alphasCumprod[0]).toBe(Math.fround(1 - 0.00085));
  });

  for (const name of ['inpaint_exact', 'superres_pullback']) {
    test(`per-step scalars equal ${name}'s schedule.* exactly (float32 arithmetic)`, async () => {
      const g = await openGolden(`goldens_sampler/${name}.safetensors`);
      const ts = await g.i64('schedule.t');
      const stride = ts[0] - ts[1];
      expect(newtonTimesteps(ts.length).timesteps).toEqual(ts);
      const fields = { ab: 'ab', ab_prev: 'abPrev', bt: 'bt', sqrt_ab: 'sqrtAb', c_eps: 'cEps', sqrt_ab_prev: 'sqrtAbPrev', c_dir: 'cDir', sqrt_bt: 'sqrtBt' } as const;
      for (const [key, field] of Object.entries(fields)) {
        const want = Array.from(await g.f32(`schedule.${key}`));
        expect(ts.map((t) => stepScalars(t, stride)[field]), key).toEqual(want);
      }
    });
  }

  test('learning rates: constant and float32(linspace(0.5, 0.1, 3))', () => {
    expect(learningRates(0.1, 2)).toEqual([Math.fround(0.1), Math.fround(0.1)]);
    expect(learningRates([0.5, 0.1], 3)).toEqual([0.5, Math.fround(0.30000001), Math.fround(0.1)]);
  });

  test('timesteps reject a step count that does not divide 1000', () => {
    expect(() => newtonTimesteps(3)).toThrow(/divide/);
    expect(newtonTimesteps(20).timesteps.slice(0, 3)).toEqual([1000, 950, 900]);
  });
});

describe('DDIM scheduler (diffusers tables)', () => {
  test('tables and timesteps match diffusers DDIMScheduler', async () => {
    const g = await openGolden('goldens/scheduler/ddim.safetensors');
    const t = ddimTables();
    expectClose(t.betas, await g.f32('betas'), { atol: 0, rtol: 1e-6 });
    expectClose(t.alphasCumprod, await g.f32('alphas_cumprod'), { atol: 0, rtol: 2e-6 });
    expect(ddimTimesteps(50)).toEqual(await g.i64('timesteps_50'));
    expect(ddimTimesteps(20)).toEqual(await g.i64('timesteps_20'));
  });

  test('alpha_prod_t / alpha_prod_t_prev of the recorded steps', async () => {
    const { readFileSync } = await import('node:fs');
    const { goldenPath } = await import('../helpers/golden.js');
    const cases = JSON.parse(readFileSync(goldenPath('goldens/scheduler/ddim_cases.json'), 'utf8')).steps;
    for (const c of cases) {
      const k = ddimCoefficients(c.timestep, c.num_inference_steps);
      expect(k.alphaProdT).toBeCloseTo(c.alpha_prod_t, 6);
      expect(k.alphaProdPrev).toBeCloseTo(c.alpha_prod_t_prev, 6);
    }
  });

  gpuTest('ddimStep reproduces diffusers step(eta=0): prev_sample and pred_original_sample', async (ctx) => {
    const { readFileSync } = await import('node:fs');
    const { goldenPath } = await import('../helpers/golden.js');
    const cases = JSON.parse(readFileSync(goldenPath('goldens/scheduler/ddim_cases.json'), 'utf8')).steps;
    const g = await openGolden('goldens/scheduler/ddim.safetensors');
    for (const c of cases) {
      const shape = g.shape(`${c.key}.sample`);
      const x = ctx.upload(await g.f32(`${c.key}.sample`), shape), eps = ctx.upload(await g.f32(`${c.key}.model_output`), shape);
      const { prev, x0 } = ddimStep(ctx, x, eps, c.timestep, c.num_inference_steps);
      expectClose(await ctx.read(x0), await g.f32(`${c.key}.pred_original_sample`), { atol: 1e-5, rtol: 1e-5 }, `${c.key} x0`);
      expectClose(await ctx.read(prev), await g.f32(`${c.key}.prev_sample`), { atol: 1e-5, rtol: 1e-5 }, `${c.key} prev`);
    }
  });
});
