// CLIPTextModel against the transformers goldens of the tiny CLIP text encoder (../shared/golden):
// last_hidden_state, pooler_output and every recorded intermediate, through the real loader from
// the diffusers folder and from the CompVis single file, f32 and f16 weights.
import { beforeAll, describe, expect } from 'vitest';
import type { GpuContext } from '../../src/gpu/context.js';
import { loadPipelineFromPath } from '../../src/pipeline/load_pipeline_node.js';
import type { CLIPTextModel } from '../../src/text/clip_text_model.js';
import { setAutoTune } from '../../src/kernels/select_variant.js';
import { GOLDEN_DIR, openGolden } from '../helpers/golden.js';
import { gpuTest } from '../helpers/gpu.js';
import { compare, expectClose, type Tolerance } from '../helpers/numeric.js';
import { compareIntermediates, expectAllIntermediatesClose, recordTaps, type Recorder } from '../helpers/taps.js';

// Correctness only: kernel variants stay provisional (no background timing runs on a busy CPU adapter).
beforeAll(() => setAutoTune(false));

const F32: Tolerance = { atol: 1e-4, rtol: 1e-4 };
const F16_WEIGHTS: Tolerance = { atol: 5e-3, rtol: 0 };
const SINGLE_FILE = `${GOLDEN_DIR}/single_file/tiny-sd14-public.safetensors`;

async function loadGoldenClip(ctx: GpuContext, source: 'folder' | 'single_file', weightDtype: 'f32' | 'f16'): Promise<CLIPTextModel> {
  const m = source === 'folder'
    ? await loadPipelineFromPath(ctx, GOLDEN_DIR, { components: ['text_encoder'], weightDtype })
    : await loadPipelineFromPath(ctx, SINGLE_FILE, { components: ['text_encoder'], weightDtype, config: GOLDEN_DIR });
  return m.text_encoder!;
}

async function goldenIds(): Promise<number[][]> {
  const g = await openGolden('goldens/clip_inputs.safetensors');
  const [B, T] = g.shape('input_ids') as [number, number];
  const flat = await g.i64('input_ids');
  return Array.from({ length: B }, (_, b) => flat.slice(b * T, (b + 1) * T));
}

async function runClip(ctx: GpuContext, te: CLIPTextModel, ids: number[][], rec?: Recorder) {
  const out = te.forward(ctx, ids, rec?.tap);
  const r = { last: await ctx.read(out.last_hidden_state), pooled: await ctx.read(out.pooler_output), shapes: [out.last_hidden_state.shape, out.pooler_output.shape] };
  ctx.release(out.last_hidden_state, out.pooler_output);
  return r;
}

function report(what: string, got: Float32Array, want: Float32Array, tol: Tolerance): void {
  console.log(`${what}: ${compare(got, want, tol).report}`);
  expectClose(got, want, tol, what);
}

describe('CLIPTextModel golden (tiny CLIP, SD 1.x text encoder topology)', () => {
  for (const source of ['folder', 'single_file'] as const) {
    gpuTest(`last_hidden_state + pooler_output + intermediates, f32 weights, ${source}`, async (ctx) => {
      const before = ctx.residentBytes;
      const te = await loadGoldenClip(ctx, source, 'f32');
      // The [49408, 32] token table (6.3 MB in f32) stays on the host; the GPU holds ~0.1 MB of layers.
      expect(ctx.residentBytes - before).toBeLessThan(49408 * 32 * 4 / 8);
      const g = await openGolden('goldens/clip_output.safetensors');
      const rec = recordTaps(ctx);
      const out = await runClip(ctx, te, await goldenIds(), rec);
      expect(out.shapes.map((s) => [...s])).toEqual([[2, 77, 32], [2, 32]]);
      report(`clip last_hidden_state (${source})`, out.last, await g.f32('last_hidden_state'), F32);
      report(`clip pooler_output (${source})`, out.pooled, await g.f32('pooler_output'), F32);
      expectAllIntermediatesClose(await compareIntermediates(rec, await openGolden('goldens/clip_intermediates.safetensors'), F32),
        `clip intermediates (${source})`);
      te.destroy(ctx);
    });
  }

  gpuTest('f16 weights (when the adapter has shader-f16)', async (ctx) => {
    if (!ctx.hasF16) { console.log('skipped: no shader-f16'); return; }
    const te = await loadGoldenClip(ctx, 'folder', 'f16');
    expect(te.text_model.final_layer_norm.weight.dtype).toBe('f16');
    const g = await openGolden('goldens/clip_output.safetensors');
    const out = await runClip(ctx, te, await goldenIds());
    report('clip last_hidden_state (f16 weights)', out.last, await g.f32('last_hidden_state'), F16_WEIGHTS);
    report('clip pooler_output (f16 weights)', out.pooled, await g.f32('pooler_output'), F16_WEIGHTS);
    te.destroy(ctx);
  });

  gpuTest('shorter sequences, pooling rule and id checks', async (ctx) => {
    const te = await loadGoldenClip(ctx, 'folder', 'f32');
    const ids = await goldenIds();
    // causal attention: the first 10 positions do not depend on the later ones
    const full = await runClip(ctx, te, ids);
    const short = await runClip(ctx, te, ids.map((r) => r.slice(0, 10)));
    expect([...short.shapes[0]!]).toEqual([2, 10, 32]);
    const head = new Float32Array(2 * 10 * 32);
    for (let b = 0; b < 2; b++) head.set(full.last.subarray(b * 77 * 32, b * 77 * 32 + 10 * 32), b * 10 * 32);
    report('first 10 tokens of a 10-token run', short.last, head, F32);
    expect(te.poolingIndex([49406, 320, 49407, 49407])).toBe(2); // argmax, first occurrence
    expect(() => te.forward(ctx, [[49406, 49408]])).toThrow(/input_ids\[0\]\[1\] = 49408 is not a token id/);
    expect(() => te.forward(ctx, [[1, 2], [1]])).toThrow(/row 1 has 1 ids/);
    expect(() => te.forward(ctx, [new Array<number>(78).fill(0)])).toThrow(/sequence length 78 outside 1\.\.77/);
    te.destroy(ctx);
  });
});
