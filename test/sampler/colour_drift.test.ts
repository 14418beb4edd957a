// No colour tint on a grey model (issue 13): with the task table's defaults (steps made few),
// super-resolution and deblurring of validation images give outputs whose channel means match
// the observation's within 1/255 — on weights/fmnist every image is grey, so a channel drifting
// away is a tint. Before lr was scaled with the stride (SamplerSettings.lrStride), the inner
// steps' total movement grew with the number of steps and 20 steps drifted by more than 1/255.
// NOT MET YET, so skipped: measured per image (bench/RESULTS.md "Sweep"), the channel means still
// drift by 1.4-2.1/255 at 10 steps and 1.5/255 at 20 (the stride scaling fixed the growth with the
// step count, not the drift itself). Unskip when a grey-preserving direction lands.
import { afterAll, beforeAll, describe, expect } from 'vitest';
import type { GpuContext } from '../../src/gpu/context.js';
import { nodeModelSource } from '../../src/pipeline/load_pipeline_node.js';
import { SdPipeline } from '../../src/pipeline/sd_pipeline.js';
import type { ImageData4 } from '../../src/pipeline/tasks.js';
import { buildCase, type CaseKind } from '../../src/quality/demo_cases.js';
import { loadTestSet } from '../../src/quality/fmnist_data.js';
import { colourDrift, VALIDATION_FIRST } from '../../src/quality/validation.js';
import { seededNoise } from '../../src/sampler/noise.js';
import { nodeModelFiles } from '../../src/weights/model_source_node.js';
import { getCtx, gpuTest } from '../helpers/gpu.js';

let ctx: GpuContext, pipe: SdPipeline;
beforeAll(async () => { ctx = await getCtx(); pipe = await SdPipeline.open(await nodeModelSource('weights/fmnist'), { ctx, weightDtype: 'f32' }); });
afterAll(() => pipe?.destroy());

const FIRST = VALIDATION_FIRST + 96, N = 2;   // validation images 496, 497

describe.skip('colour drift (issue 13 acceptance, not met yet)', () => {
for (const kind of ['superres-x4', 'deblur'] as CaseKind[]) {
  gpuTest(`${kind} with the defaults (5 steps): channel means within 1/255 of the observation's, no tint`, async () => {
    const test = await loadTestSet(nodeModelFiles('weights/fmnist'), FIRST + N), S = test.size, px = 3 * S * S;
    const gt: ImageData4 = { data: test.images.slice(FIRST * px, (FIRST + N) * px), shape: [N, 3, S, S] };
    const tc = await buildCase(ctx, kind, gt, 7);
    const r = await pipe.run({ ...tc.request, steps: 5, noise: seededNoise([2 * FIRST, 2 * FIRST + 2]) });
    const y = tc.request.image!;
    const drift = colourDrift(r.images.data, y.data, N, S * S, y.shape[2] * y.shape[3]);
    expect(drift.meanError).toBeLessThan(1);
    expect(drift.tint).toBeLessThan(1);
  }, 600_000);
}
});
