// Dawn prints "Warning: maxDynamic{Uniform,Storage}BuffersPerPipelineLayout artificially reduced
// from ... to 16 ..." from native code straight to file descriptor 2 whenever it enumerates
// adapters (requestAdapter), whatever limits are asked for later; JavaScript cannot intercept a
// native write to fd 2 in its own process. So the `tether` executable runs the CLI in a child
// process whose stderr passes through a filter that drops exactly those lines; --verbose (or
// TETHER_VERBOSE=1) runs it directly and shows them. The child is told whether the real stderr
// is a terminal, so progress bars still draw in place.
import { spawn } from 'node:child_process';

const DAWN_LIMIT_WARNING = /^Warning: maxDynamic(?:Uniform|Storage)BuffersPerPipelineLayout artificially reduced from \d+ to \d+ to fit dynamic offset allocation limit\.\r?\n$/;
const PREFIX = 'Warning: maxDynamic';
const CHILD_ENV = 'TETHER_QUIET_CHILD';

/** A stateful filter over a text stream: drops whole Dawn limit-warning lines, passes everything else on at once. */
export function dawnWarningFilter(write: (s: string) => void): (chunk: string) => void {
  let held = '';
  return (chunk) => {
    let text = held + chunk;
    held = '';
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n')) {
      const line = text.slice(0, nl + 1);
      if (!DAWN_LIMIT_WARNING.test(line)) write(line);
      text = text.slice(nl + 1);
    }
    // an unfinished line is held only while it may still become a warning (progress lines end in \r, not \n)
    if (text && (PREFIX.startsWith(text) || text.startsWith(PREFIX))) held = text;
    else if (text) write(text);
  };
}

/** True in the child started by runQuiet. */
export function isQuietChild(): boolean {
  return process.env[CHILD_ENV] !== undefined;
}

/** In the child: stderr is a pipe to the filter, but drawn as the terminal the parent has (if it has one). */
export function adoptParentTerminal(): void {
  const cols = Number(process.env[CHILD_ENV]);
  if (!(cols > 0)) return;
  Object.defineProperty(process.stderr, 'isTTY', { value: true });
  Object.defineProperty(process.stderr, 'columns', { value: cols });
}

/** Runs this script again with the same arguments, stderr filtered; exits as the child does. */
export function runQuiet(): void {
  const cols = process.stderr.isTTY ? process.stderr.columns || 80 : 0;
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: ['inherit', 'inherit', 'pipe'], env: { ...process.env, [CHILD_ENV]: String(cols) },
  });
  const filter = dawnWarningFilter((s) => process.stderr.write(s));
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', filter);
  // Ctrl-C reaches the child too (same process group); the parent waits for it to finish
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => child.kill(sig));
  child.on('close', (code, signal) => {
    if (signal) process.kill(process.pid, signal);
    process.exit(code ?? 1);
  });
}
