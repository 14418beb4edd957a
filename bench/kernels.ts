// Kernel benchmark: every case of bench/kernel_cases/*.ts (matmul and conv2d variants on SD 1.4
// layer shapes, with the naive matmul as yardstick in the same run, plus whatever other engineers
// add: group_norm, attention, ...), timed with timestamp queries (sum of the op's dispatches;
// wall clock around ctx.sync() when the adapter has none). Prints a table headed by the adapter's
// name, writes bench/results/kernels.json and the "Kernels" section of bench/RESULTS.md, and
// reports which matmul / conv2d variant the selector measures fastest on this adapter.
//
//   npm run bench:kernels [-- --filter matmul --reps 5 --full --no-md]
//
// On a lent GPU machine (the device tool) nothing can be installed: `bash tools/gpu_pack.sh` here
// packs node, node_modules and the Vulkan loader into .gpu/ and .gl/; then run there, with carry
// ['.gl', '.gpu', 'bench/results']: `bash tools/gpu_bench.sh 480 kernels` (or without the step
// name, for every GPU benchmark); it copies bench/RESULTS.md and the JSON files into $OUT.
//
// Adding cases: put a file in bench/kernel_cases/ exporting `cases: KernelBenchCase[]` or
// `casesFor(ctx): KernelBenchCase[]` (scale shapes down on CPU adapters, and say so in the label).
import { readdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import type { GpuContext } from '../src/gpu/context.js';
import { adapterName } from '../src/gpu/device.js';
import { createNodeGpuContext } from '../src/gpu/device_node.js';
import { mdTable, writeJson, writeResultsSection } from './results_md.js';

export interface KernelBenchCase {
  /** kernel family, e.g. 'matmul', 'conv2d', 'group_norm' */
  op: string;
  /** one line: shape, options, variant */
  label: string;
  /** bytes an ideal implementation moves per run (for GB/s) */
  bytes: number;
  /** floating-point operations per run (for GFLOP/s; 0 when meaningless) */
  flops: number;
  /** algorithm name ('naive', 'subgroup', ...); parsed from the label when absent */
  variant?: string;
  /** problem shape for the JSON, e.g. '1024x1280x320' */
  shape?: string;
  dtype?: string;
  /** cases of one group are timed round-robin (default: same op, shape and dtype) */
  group?: string;
  /** uploads inputs once; run() records the op's dispatches without syncing */
  prepare(ctx: GpuContext): { run(): void; dispose(): void };
}

export interface KernelBenchResult {
  kernel: string; variant: string; shape: string; dtype: string; label: string;
  /** median; msMin: the fastest run (closest to an unloaded machine) */
  ms: number; msMin: number; gflops: number; gbps: number;
}

/** A case from the usual pieces (the helper other case files may use). */
export function benchCase(c: KernelBenchCase): KernelBenchCase {
  return c;
}

/** ms of one run of `c` (timestamp queries summed over its dispatches, else wall clock). */
async function timeOnce(ctx: GpuContext, run: () => void): Promise<number> {
  if (ctx.hasTimestamps) {
    ctx.startTiming();
    run();
    const t = await ctx.stopTiming();
    return t.reduce((s, d) => s + d.ms, 0);
  }
  await ctx.sync();
  const t0 = performance.now();
  run();
  await ctx.sync();
  return performance.now() - t0;
}

/**
 * Median ms of each case over `reps` runs, after a warm-up run each (shader compilation). The
 * cases of one group (the variants of one problem) are interleaved round by round, so that a
 * change in the machine's load (lavapipe shares the CPU) hits them all alike.
 */
export async function timeCases(ctx: GpuContext, cases: KernelBenchCase[], reps: number): Promise<{ median: number; min: number }[]> {
  const prepared = cases.map((c) => c.prepare(ctx));
  try {
    for (const p of prepared) {
      p.run();
      await ctx.sync();
    }
    const times: number[][] = cases.map(() => []);
    for (let r = 0; r < reps; r++) {
      for (let i = 0; i < cases.length; i++) times[i]!.push(await timeOnce(ctx, prepared[i]!.run));
    }
    return times.map((t) => t.sort((a, b) => a - b)).map((t) => ({ median: t[t.length >> 1]!, min: t[0]! }));
  } finally {
    for (const p of prepared) p.dispose();
    await ctx.sync();
  }
}

/**
 * The acceptance ratios, from one run: the selected f32 matmul against the naive one at
 * 1024x1280x320, and the 320-channel 3x3 conv against the matmul of its GEMM size (1024x320x2880).
 */
export function acceptanceSummary(results: KernelBenchResult[], chosen: { matmul: string; conv2d: string }): string[] {
  const find = (kernel: string, shape: string, variant: string) =>
    results.find((r) => r.kernel === kernel && r.shape === shape && r.variant === variant && r.dtype === 'f32');
  const out: string[] = [];
  const fast = find('matmul', '1024x1280x320', chosen.matmul), naive = find('matmul', '1024x1280x320', 'naive');
  if (fast && naive) {
    out.push(`matmul 1024x1280x320 f32: ${chosen.matmul} / naive = ${(naive.ms / fast.ms).toFixed(1)}x by medians ` +
      `(${fast.gflops.toFixed(2)} vs ${naive.gflops.toFixed(2)} GFLOP/s), ${(naive.msMin / fast.msMin).toFixed(1)}x by fastest runs`);
  }
  const conv = find('conv2d', 'x[1,320,32,32] w[320,320,3,3] s1', chosen.conv2d), mm = find('matmul', '1024x320x2880', chosen.matmul);
  if (conv && mm) {
    out.push(`conv2d 3x3 320 ch at 32x32 (${chosen.conv2d}) / matmul 1024x320x2880 (${chosen.matmul}) = ` +
      `${((100 * mm.ms) / conv.ms).toFixed(0)}% of the GFLOP/s by medians, ${((100 * mm.msMin) / conv.msMin).toFixed(0)}% by fastest runs`);
  }
  return out;
}

async function loadCases(ctx: GpuContext, full: boolean): Promise<KernelBenchCase[]> {
  const dir = new URL('./kernel_cases/', import.meta.url);
  const out: KernelBenchCase[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts')).sort()) {
    const mod = (await import(new URL(f, dir).href)) as {
      cases?: KernelBenchCase[]; casesFor?: (ctx: GpuContext, opts: { full: boolean }) => KernelBenchCase[];
    };
    out.push(...(mod.casesFor ? mod.casesFor(ctx, { full }) : (mod.cases ?? [])));
  }
  return out;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const filter = arg('filter'), reps = Number(arg('reps') ?? 3), full = process.argv.includes('--full');
  const ctx = await createNodeGpuContext();
  const name = adapterName(ctx.adapter);
  // lavapipe shares the CPU with everything else on the machine: record how busy it was
  const load0 = loadavg()[0]!;
  console.log(`adapter: ${name}; timing: ${ctx.hasTimestamps ? 'timestamp queries' : 'wall clock'}, median of ${reps}; ` +
    `load average ${load0.toFixed(1)} on ${cpus().length} CPUs`);
  const cases = (await loadCases(ctx, full)).filter((c) => !filter || `${c.op} ${c.label}`.includes(filter));
  const results: KernelBenchResult[] = [];
  // group the variants of one problem (same op, shape and dtype) to interleave their runs
  const groups = new Map<string, KernelBenchCase[]>();
  for (const c of cases) {
    const key = c.group ?? (c.shape ? `${c.op}|${c.shape}|${c.dtype}` : `${c.op}|${c.label}`);
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  for (const group of groups.values()) {
    const times = await timeCases(ctx, group, reps);
    for (const [gi, c] of group.entries()) {
      const ms = times[gi]!.median, msMin = times[gi]!.min;
      const r: KernelBenchResult = {
        kernel: c.op, variant: c.variant ?? (/\b(naive|tiled|regblock|subgroup|scalar|vec4|split)\b/.exec(c.label)?.[1] ?? ''),
        shape: c.shape ?? c.label, dtype: c.dtype ?? (/\b(f16|f32)\b/.exec(c.label)?.[1] ?? 'f32'), label: c.label,
        ms, msMin, gflops: c.flops / ms / 1e6, gbps: c.bytes / ms / 1e6,
      };
      results.push(r);
      console.log(`${c.op.padEnd(11)} ${c.label.padEnd(72)} ${ms.toFixed(2).padStart(9)} ms (min ${msMin.toFixed(2)}) ` +
        `${r.gflops.toFixed(2).padStart(8)} GFLOP/s ${r.gbps.toFixed(2).padStart(7)} GB/s`);
    }
  }
  const { selectedVariants } = await import('./kernel_cases/matmul.js');
  const chosen = await selectedVariants(ctx);
  for (const s of chosen) console.log(`selected by measurement: ${s}`);
  const pick = (re: RegExp) => re.exec(chosen.join('\n'))?.[1] ?? 'subgroup';
  const summary = acceptanceSummary(results, {
    matmul: pick(/matmul kk\|m>256\S* \(e\.g\. 1024x1280x320\) -> (\w+)/), conv2d: pick(/conv2d k3x3s1\|c<=512\S* .* -> (\w+)/),
  });
  for (const s of summary) console.log(s);
  const info = { vendor: ctx.adapter.vendor, architecture: ctx.adapter.architecture, description: ctx.adapter.description };
  const load = `load average ${load0.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end, on ${cpus().length} CPUs`;
  const { exportVariantCache } = await import('../src/kernels/select_variant.js');
  writeJson('bench/results/kernels.json', { adapter: info, load, results, selected: chosen, summary, variantCache: exportVariantCache(ctx) });
  if (!process.argv.includes('--no-md') && !filter) {
    const gf = (r: KernelBenchResult, ms: number) => (r.gflops ? ((r.gflops * r.ms) / ms).toFixed(2) : '-');
    const rows = results.map((r) => [r.kernel, r.label, r.ms.toFixed(2), r.msMin.toFixed(2), gf(r, r.ms), gf(r, r.msMin), r.gbps.toFixed(2)]);
    writeResultsSection('Kernels (bench/kernels.ts)', [
      `Adapter: ${name}. Command: \`npm run bench:kernels -- --reps ${reps}\`. Median and fastest of ${reps} runs ` +
      '(the variants of one problem timed round-robin), ' +
      `${ctx.hasTimestamps ? 'GPU timestamp queries' : 'wall clock'}; ${new Date().toISOString().slice(0, 10)}; ${load}.`,
      '', mdTable(['kernel', 'case', 'ms (median)', 'ms (min)', 'GFLOP/s (median)', 'GFLOP/s (min)', 'GB/s'], rows), '',
      ...chosen.map((s) => `- selected by measurement: ${s}`),
      ...summary.map((s) => `- ${s}`),
      '', 'On a lent GPU machine (the device tool; nothing can be installed there): `bash tools/gpu_pack.sh` here, then ' +
      "run `bash tools/gpu_bench.sh 480 kernels` there with carry ['.gl', '.gpu', 'bench/results'] (without `kernels`: " +
      'every GPU benchmark); it copies bench/RESULTS.md and the JSON results into $OUT.',
    ].join('\n'));
  }
  process.exit(0);
}

if (process.argv[1]?.endsWith('kernels.ts')) void main();
