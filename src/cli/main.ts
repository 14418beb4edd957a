// The `tether` command line: one subcommand per task, plus model and kernel checks.
import { Command } from 'commander';
import type { GpuContext } from '../gpu/context.js';
import { demoCommand } from './demo.js';
import { forwardCommand } from './forward.js';
import { selfcheckCommand } from './selfcheck.js';
import { styleLossCommand } from './style_loss.js';
import { taskCommand } from './task_commands.js';
import { TETHER_VERSION } from './version.js';

/** `deps.ctx`: a GPU context to share (tests); by default each command opens its own device. */
export function buildProgram(deps: { ctx?: GpuContext } = {}): Command {
  const program = new Command('tether')
    .description('Stable Diffusion on WebGPU with fast constrained sampling by inexact Newton steps (arXiv 2410.18804)')
    .version(TETHER_VERSION)
    // taken out of the arguments by bin.ts wherever it appears; declared here for --help
    .option('--verbose', "show the GPU driver's own start-up messages (Dawn's limit warnings); allowed anywhere on the command line")
    .showHelpAfterError('(run with --help for usage)');
  for (const t of ['generate', 'inpaint', 'superres', 'deblur', 'colorize', 'style'] as const) program.addCommand(taskCommand(t, deps));
  program.addCommand(demoCommand(deps));
  program.addCommand(forwardCommand(deps));
  program.addCommand(styleLossCommand(deps));
  program.addCommand(selfcheckCommand(deps));
  return program;
}

/** Parses argv and runs; every failure ends as one line on stderr and a non-zero exit code. */
export async function run(argv: string[] = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
    process.exit(process.exitCode ?? 0);
  } catch (e) {
    process.stderr.write(`tether: ${(e as Error).message.split('\n')[0]}\n`);
    process.exit(1);
  }
}
