// `tether selfcheck`: runs every kernel family once on this machine's adapter against its CPU
// reference (SD-like shapes, awkward sizes) and prints the adapter and a pass table. The quick
// way to see whether a WebGPU stack computes correctly before loading a model.
import { Command } from 'commander';
import { adapterName } from '../gpu/device.js';
import { createNodeGpuContext } from '../gpu/device_node.js';
import type { GpuContext } from '../gpu/context.js';
import { runSelfcheck } from '../kernels/selfcheck.js';

export function selfcheckCommand(deps: { ctx?: GpuContext } = {}): Command {
  return new Command('selfcheck')
    .description('check every kernel against its CPU reference on this adapter and print a pass table')
    .option('--f16', 'also check f16 storage where the adapter supports it')
    .action(async function (this: Command, o: { f16?: boolean }) {
      const ctx = deps.ctx ?? await createNodeGpuContext();
      process.stdout.write(`adapter: ${adapterName(ctx.adapter)}; shader-f16 ${ctx.hasF16 ? 'yes' : 'no'}, subgroups ${ctx.hasSubgroups ? 'yes' : 'no'}, ` +
        `max binding ${(ctx.limits.maxStorageBufferBindingSize / 2 ** 20).toFixed(0)} MiB\n\n`);
      const rows = await runSelfcheck(ctx, { f16: Boolean(o.f16) && ctx.hasF16 });
      const w = Math.max(...rows.map((r) => r.name.length));
      process.stdout.write(`${'kernel'.padEnd(w)}  dtype  result  max|err|/scale   ms\n`);
      for (const r of rows) {
        process.stdout.write(`${r.name.padEnd(w)}  ${r.dtype.padEnd(5)}  ${r.ok ? 'pass  ' : 'FAIL  '}  ${r.relErr.toExponential(2).padStart(12)}  ${r.ms.toFixed(1).padStart(6)}\n`);
      }
      const failed = rows.filter((r) => !r.ok).length;
      process.stdout.write(`\n${rows.length - failed} passed, ${failed} failed\n`);
      if (failed) process.exitCode = 1;
    });
}
