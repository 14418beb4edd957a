#!/usr/bin/env node
// The `tether` command line: one subcommand per task, plus model and kernel checks.
import { Command } from 'commander';
import { forwardCommand } from './forward.js';
import { selfcheckCommand } from './selfcheck.js';
import { taskCommand } from './task_commands.js';

export function buildProgram(): Command {
  const program = new Command('tether')
    .description('Stable Diffusion on WebGPU with fast constrained sampling by inexact Newton steps (arXiv 2410.18804)')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)');
  for (const t of ['generate', 'inpaint', 'superres', 'deblur', 'colorize'] as const) program.addCommand(taskCommand(t));
  program.addCommand(forwardCommand());
  program.addCommand(selfcheckCommand());
  return program;
}

const isMain = process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/').split('/').pop()!);
if (isMain) {
  buildProgram().parseAsync(process.argv).then(() => process.exit(process.exitCode ?? 0), (e: Error) => {
    process.stderr.write(`tether: ${e.message.split('\n')[0]}\n`);
    process.exit(1);
  });
}
