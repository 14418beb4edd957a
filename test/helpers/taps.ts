// Records model taps (src/nn/tap.ts) by full module path and compares them with a golden
// intermediates file in execution order, naming the first block that diverges.
import { expect } from 'vitest';
import type { GpuContext } from '../../src/gpu/context.js';
import { GpuTensor } from '../../src/gpu/tensor.js';
import type { Tap, TapValue } from '../../src/nn/tap.js';
import { ChannelChunks, readChunks } from '../../src/nn/channel_chunks.js';
import type { Golden } from './golden.js';
import { compare, type Tolerance } from './numeric.js';

export interface Recorder {
  tap: Tap;
  /** full module path -> values (NCHW / token-major, f32) */
  values: Map<string, Promise<Float32Array>>;
  /** number of parts each tapped value had (channel chunking) */
  parts: Map<string, number>;
}

export function readTapValue(ctx: GpuContext, v: TapValue): Promise<Float32Array> {
  // The readback copy is recorded now, before the model releases the buffer.
  return v instanceof GpuTensor ? ctx.read(v) : readChunks(ctx, new ChannelChunks(v.parts));
}

export function recordTaps(ctx: GpuContext): Recorder {
  const values = new Map<string, Promise<Float32Array>>();
  const parts = new Map<string, number>();
  const tap: Tap = (name, v) => {
    const full = [...ctx.modulePath, name].join('.');
    values.set(full, readTapValue(ctx, v));
    parts.set(full, v instanceof GpuTensor ? 1 : v.parts.length);
  };
  return { tap, values, parts };
}

export interface IntermediateReport {
  name: string;
  maxDiff: number;
  scale: number;
  ok: boolean;
  report: string;
}

/** Compares every tensor of `golden` (in its execution order) with the recorded values. */
export async function compareIntermediates(rec: Recorder, golden: Golden, tol: Tolerance): Promise<IntermediateReport[]> {
  const order = golden.file.metadata['execution_order'];
  const names: string[] = order ? (JSON.parse(order) as string[]) : [...golden.file.tensors.keys()];
  const out: IntermediateReport[] = [];
  for (const name of names) {
    const got = rec.values.get(name);
    if (!got) {
      out.push({ name, maxDiff: Infinity, scale: 0, ok: false, report: 'not recorded by the model' });
      continue;
    }
    const want = await golden.f32(name);
    let scale = 0;
    for (const v of want) scale = Math.max(scale, Math.abs(v));
    const r = compare(await got, want, tol);
    out.push({ name, maxDiff: r.maxDiff, scale, ok: r.ok, report: r.report });
  }
  return out;
}

/** Fails naming the first divergent block (and listing every block's max error). */
export function expectAllIntermediatesClose(reports: IntermediateReport[], what: string): void {
  const first = reports.find((r) => !r.ok);
  if (first) {
    const table = reports.map((r) => `  ${r.ok ? 'ok ' : 'BAD'} ${r.name}: ${r.report}`).join('\n');
    expect.fail(`${what}: first divergent block is ${first.name}: ${first.report}\n${table}`);
  }
}
