// The sampler goldens (../shared/golden/goldens_sampler): every stage of every case fed the
// recorded inputs ("teacher forcing"), and whole runs through the public task API with the
// golden noise for the cases the README calls well-conditioned, with tolerances derived from
// its sensitivity table and this engine's measured per-call error.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect } from 'vitest';
import type { GpuContext } from '../../src/gpu/context.js';
import type { GpuTensor } from '../../src/gpu/tensor.js';
import { axpbyScaled } from '../../src/kernels/axpby_scaled.js';
import { concat0, slice0 } from '../../src/kernels/tensor_ops.js';
import { loadPipelineFromPath } from '../../src/pipeline/load_pipeline_node.js';
import type { StableDiffusionModel } from '../../src/pipeline/load_pipeline.js';
import { taskModels } from '../../src/pipeline/sd_pipeline.js';
import { runTask, type TaskModels } from '../../src/pipeline/tasks.js';
import type { Constraint } from '../../src/sampler/constraints/constraint.js';
import { InpaintConstraint } from '../../src/sampler/constraints/inpaint.js';
import { PixelLinearConstraint } from '../../src/sampler/constraints/pixel_linear.js';
import { downscaleOperator } from '../../src/sampler/constraints/pixel_operators.js';
import { ddimUpdate, newtonUpdate, perturb, x0Estimate } from '../../src/sampler/newton_step.js';
import { recordedNoise } from '../../src/sampler/noise.js';
import { stepScalars } from '../../src/sampler/schedule.js';
import { Tracer } from '../../src/sampler/tracer.js';
import { getCtx, gpuTest } from '../helpers/gpu.js';
import { GOLDEN_DIR, goldenPath, openGolden, type Golden } from '../helpers/golden.js';
import { compare, type Tolerance } from '../helpers/numeric.js';

const UNET_TOL: Tolerance = { atol: 1e-4, rtol: 1e-4, scale: 1 };       // golden README: 1e-4 + 1e-4|golden|
const ELEMENTWISE_TOL: Tolerance = { atol: 2e-6, rtol: 2e-6 };          // a few f32 ulps of the operands
const summary = JSON.parse(readFileSync(goldenPath('goldens_sampler/summary.json'), 'utf8'));

let ctx: GpuContext, sd: StableDiffusionModel, models: TaskModels, c: GpuTensor;
beforeAll(async () => {
  ctx = await getCtx();
  sd = await loadPipelineFromPath(ctx, GOLDEN_DIR, { weightDtype: 'f32' });
  models = taskModels(ctx, sd);
  c = await models.encodePrompts(ctx, ['']);
}, 300_000);

const unet = (x: GpuTensor, t: number) => {
  const B = x.shape[0];
  const emb = B === 1 ? c : concat0(ctx, Array<GpuTensor>(B).fill(c));
  const eps = sd.unet!.forward(ctx, x, Array(B).fill(t), emb);
  if (emb !== c) ctx.release(emb);
  return eps;
};

async function expectNear(got: GpuTensor, g: Golden, key: string, tol: Tolerance): Promise<number> {
  const r = compare(await ctx.read(got), await g.f32(key), tol);
  expect(r.ok, `${key}: ${r.report}`).toBe(true);
  return r.maxDiff;
}

async function constraintFor(g: Golden, name: string): Promise<Constraint> {
  if (g.has('z_y')) {
    return new InpaintConstraint(ctx.upload(await g.f32('z_y'), g.shape('z_y')), ctx.upload(await g.f32('mask_lat'), g.shape('mask_lat')));
  }
  const [, , H, W] = g.shape('image');
  // golden: A = avg_pool2d(., 8) (box), A^T = nearest-upsample x8 * 1/64: the box matrix and its transpose
  return new PixelLinearConstraint('superres', downscaleOperator(ctx, H, W, 8, 'box'), ctx.upload(await g.f32('y'), g.shape('y')), models.codec, 0.005);
}

const CASES = ['inpaint_exact', 'superres_pullback', 'inpaint_fused', 'inpaint_exact_2x', 'inpaint_fused_2x'];

describe('sampler goldens, teacher-forced stage by stage', () => {
  gpuTest('the empty-prompt conditioning c equals the golden', async () => {
    const g = await openGolden('goldens_sampler/inpaint_exact.safetensors');
    await expectNear(c, g, 'c', { atol: 1e-4, rtol: 1e-4 });
  });

  for (const name of CASES) {
    gpuTest(`${name}: every UNet call, x0, direction, perturbation, Newton update and DDIM update`, async () => {
      const g = await openGolden(`goldens_sampler/${name}.safetensors`);
      const p = summary.cases[name].params;
      const fused = name.includes('fused');
      const up = async (key: string) => ctx.upload(await g.f32(key), g.shape(key));
      const constraint = await constraintFor(g, name);
      const zList = await g.f32('z_list'), lr = await g.f32('lr');
      const ts = await g.i64('schedule.t');
      const dTol: Tolerance = g.has('z_y') ? ELEMENTWISE_TOL : { atol: 40 * 3.14e-6, rtol: 0, scale: 1 }; // pull-back: 40x the f64 gap
      for (let si = 0; si < ts.length; si++) {
        const s = stepScalars(ts[si], p.stride);
        const pre = `step${si}`;
        const x = await up(`${pre}.x`);
        await expectNear(unet(x, s.t), g, `${pre}.eps`, UNET_TOL);
        await expectNear(x0Estimate(ctx, x, await up(`${pre}.eps`), s), g, `${pre}.x0`, ELEMENTWISE_TOL);
        if (fused) await expectNear(await constraint.direction(ctx, await up(`${pre}.x0`)), g, `${pre}.d`, dTol);
        for (let k = 0; k < p.K; k++) {
          const q = `${pre}.k${k}`;
          const xk = await up(k === 0 ? `${pre}.x` : `${pre}.k${k - 1}.x`);
          const d = await up(`${q}.d`);
          if (!fused) await expectNear(await constraint.direction(ctx, await up(k === 0 ? `${pre}.x0` : `${pre}.k${k - 1}.x0`)), g, `${q}.d`, dTol);
          const { xp } = perturb(ctx, xk, d, p.h);
          await expectNear(xp, g, `${q}.xp`, ELEMENTWISE_TOL);
          const xpRec = await up(`${q}.xp`);
          if (fused) {
            const e2 = unet(concat0(ctx, [xk, xpRec]), s.t);
            await expectNear(e2, g, `${q}.eps_batch`, UNET_TOL);
            await expectNear(await constraint.direction(ctx, await up(`${q}.x0_now`)), g, `${q}.d_next`, dTol);
          } else {
            await expectNear(unet(xpRec, s.t), g, `${q}.eps_p`, UNET_TOL);
          }
          const x0Base = await up(fused ? `${q}.x0_now` : k === 0 ? `${pre}.x0` : `${pre}.k${k - 1}.x0`);
          const upd = newtonUpdate(ctx, xk, await up(`${q}.x0p`), x0Base, lr[k]);
          await expectNear(axpbyScaled(ctx, 0, upd.diff, 1, upd.diff, upd.gNorm), g, `${q}.g`, { atol: 1e-6, rtol: 1e-5 });
          await expectNear(upd.x, g, `${q}.x`, ELEMENTWISE_TOL);
          if (!fused) await expectNear(unet(await up(`${q}.x`), s.t), g, `${q}.eps`, UNET_TOL);
        }
        const size = zList.length / ts.length;
        const z = ctx.upload(zList.subarray(si * size, (si + 1) * size), g.shape('x_init'));
        await expectNear(ddimUpdate(ctx, await up(`${pre}.x0_ddim`), await up(`${pre}.eps_ddim`), z, s), g, `${pre}.x_next`, ELEMENTWISE_TOL);
      }
      constraint.destroy?.(ctx);
    }, 600_000);
  }

  gpuTest('fused schedule: the batch-of-two call equals two single calls to rounding level', async () => {
    for (const name of ['inpaint_fused', 'inpaint_fused_2x']) {
      const g = await openGolden(`goldens_sampler/${name}.safetensors`);
      const x = ctx.upload(await g.f32('step0.x'), g.shape('step0.x')), xp = ctx.upload(await g.f32('step0.k0.xp'), g.shape('step0.k0.xp'));
      const both = await ctx.read(unet(concat0(ctx, [x, xp]), 1000));
      const one = await ctx.read(unet(x, 1000)), two = await ctx.read(unet(xp, 1000));
      const n = one.length;
      const r1 = compare(both.subarray(0, n), one, { atol: 1e-5, rtol: 1e-5 }), r2 = compare(both.subarray(n), two, { atol: 1e-5, rtol: 1e-5 });
      expect(r1.ok && r2.ok, `${name}: ${r1.report}; ${r2.report}`).toBe(true);
      await expectNear(ctx.upload(one, g.shape('step0.x')), g, 'check.eps_single_x', UNET_TOL);
    }
  });
});

describe('sampler goldens, end to end through the task API (well-conditioned cases)', () => {
  for (const name of ['superres_pullback', 'inpaint_exact_2x', 'inpaint_fused_2x']) {
    gpuTest(`${name}: result_latent and result_image within the README's sensitivity bound`, async () => {
      const g = await openGolden(`goldens_sampler/${name}.safetensors`);
      const p = summary.cases[name].params;
      // this engine's per-call relative error, measured on the first UNet call
      const eps0 = await ctx.read(unet(ctx.upload(await g.f32('step0.x'), g.shape('step0.x')), 1000));
      const ref0 = await g.f32('step0.eps');
      let err = 0, mag = 0;
      for (let i = 0; i < ref0.length; i++) { err = Math.max(err, Math.abs(eps0[i] - ref0[i])); mag = Math.max(mag, Math.abs(ref0[i])); }
      const rel = Math.max(err / mag, 1e-6);
      const sens = summary.cases[name].sensitivity['1e-06'];
      // linear regime: deviation ~ gain * rel; allow 5x for the model-call error's structure
      const latTol = 5 * sens.result_latent * (rel / 1e-6), imgTol = 5 * sens.result_image * (rel / 1e-6);
      const steps = p.steps as number;
      const noise = recordedNoise(await g.f32('x_init'), await g.f32('z_list'), steps);
      const settings = { steps, K: p.K, lr: [0.5, 0.1] as [number, number], h: p.h, schedule: name.includes('fused') ? 'fused' as const : 'exact' as const, method: 'newton' as const };
      const trace = new Tracer(ctx, (k) => k.endsWith('x_next'));
      const result = g.has('z_y')
        ? await runTask(ctx, models, { task: 'inpaint', settings, noise, trace, keepKnown: false,   // the golden is the raw decode
            image: { data: await g.f32('image'), shape: g.shape('image') as [number, number, number, number] },
            mask: { data: await g.f32('mask'), shape: g.shape('mask') as [number, number, number, number] } })
        : await runTask(ctx, models, { task: 'superres', settings: { ...settings, lr: 0.1 }, noise, trace, scale: 8, downscaleKernel: 'box', keepKnown: false,
            image: { data: await g.f32('y'), shape: g.shape('y') as [number, number, number, number] } });
      const rl = compare(result.latent, await g.f32('result_latent'), { atol: latTol, rtol: 0, scale: 1 });
      const ri = compare(result.image.data, await g.f32('result_image'), { atol: imgTol, rtol: 0, scale: 1 });
      expect(rl.ok, `result_latent (tol ${latTol.toExponential(2)}, per-call rel err ${rel.toExponential(2)}): ${rl.report}`).toBe(true);
      expect(ri.ok, `result_image (tol ${imgTol.toExponential(2)}): ${ri.report}`).toBe(true);
      for (let si = 0; si < steps; si++) {
        const r = compare(trace.tensors.get(`step${si}.x_next`)!.data, await g.f32(`step${si}.x_next`), { atol: latTol, rtol: 0, scale: 1 });
        expect(r.ok, `step${si}.x_next: ${r.report}`).toBe(true);
      }
      const perStep = settings.schedule === 'exact' ? 1 + 2 * p.K : p.K * 2 + 2;
      expect(result.evals).toBe(steps * perStep);
    }, 600_000);
  }
});
