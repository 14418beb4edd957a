#!/usr/bin/env node
// Entry point of the `tether` executable (bundled to dist/tether.mjs by tools/build.mjs).
// Without --verbose the CLI runs in a child whose stderr drops Dawn's driver warnings (quiet_driver.ts).
import { run } from './main.js';
import { adoptParentTerminal, isQuietChild, runQuiet } from './quiet_driver_node.js';

const verbose = process.argv.includes('--verbose') || process.env.TETHER_VERBOSE === '1';
const argv = process.argv.filter((a) => a !== '--verbose');
if (verbose || isQuietChild()) {
  if (isQuietChild()) adoptParentTerminal();
  void run(argv);
} else {
  runQuiet();
}
