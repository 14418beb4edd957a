// Kernel variants are chosen before a run, never during it (determinism: same seed, model,
// adapter and variant table give the same bits). A run's signature names what decides the shape
// classes it meets (model, task, sizes, batch, schedule, guidance, constraint kind). The first
// time a table meets a signature, a discovery pass runs the task for ONE diffusion step with at
// most one inner step — every model call of the real run (text encoder, UNet at batch N and 2N,
// VAE encode/decode, CLIP) at the real shapes, fed with throw-away noise — and every class it met
// is measured (settleVariants). Its results are discarded. The real run then executes with the
// table frozen: classes it meets that discovery did not are pinned to their provisional variant
// at once, so even they repeat in the next run that loads the same table.
import type { GpuContext } from '../gpu/context.js';
import { settleVariants } from '../kernels/select_variant.js';
import { seededNoise } from '../sampler/noise.js';
import type { TaskModels, TaskRequest } from './tasks.js';

/** What decides the shape classes of a run (not the data, the seed or the learning rates). */
export function runSignature(m: TaskModels, req: TaskRequest): string {
  const s = req.settings;
  const inner = s.method === 'newton' || s.method === 'no-jacobian' || s.method === 'dps' ? Math.min(s.K, 1) : 0;
  return JSON.stringify({
    model: m.id ?? '', task: req.task, image: req.image?.shape ?? null, mask: req.mask?.shape ?? null,
    size: req.task === 'generate' ? [req.count ?? 1, req.width ?? 512, req.height ?? 512] : null,
    scale: req.scale ?? null, kernel: req.downscaleKernel ?? null, space: req.inpaintSpace ?? null,
    operator: req.operator ? [req.operator.op.constructor.name, req.operator.y.shape] : null,
    method: s.method, schedule: s.schedule, inner, guidance: Boolean(req.guidance), style: req.style ? req.style.image.shape : null,
  });
}

/**
 * Makes sure every kernel class the run meets has its variant chosen: runs the discovery pass
 * when the table has not seen this run's signature, then measures what it met.
 * `runOnce` is runTask's body (passed in to keep the import one-way).
 */
export async function prepareVariants(ctx: GpuContext, m: TaskModels, req: TaskRequest,
                                      runOnce: (r: TaskRequest) => Promise<unknown>): Promise<void> {
  const table = ctx.variants;
  if (table.frozen) return;                         // inside a run: nothing may change now
  const signature = runSignature(m, req);
  if (!table.hasDiscovered(signature)) {
    const N = req.image?.shape[0] ?? req.operator?.y.shape[0] ?? req.count ?? 1;
    const s = req.settings;
    await runOnce({
      ...req,
      settings: { ...s, steps: 1, tStart: undefined, K: Math.min(s.K, 1) },
      noise: seededNoise(Array.from({ length: N }, (_, i) => 2 * i)),
      trace: undefined, onProgress: undefined,
    });
    table.markDiscovered(signature);
  }
  await settleVariants(ctx);
}
