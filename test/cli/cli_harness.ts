// Runs the `tether` CLI in-process on the tests' shared GPU context, capturing what commander
// and the commands write, and builds small input files.
import { CommanderError, type Command } from 'commander';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { expect } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { getCtx } from '../helpers/gpu.js';

export interface Outcome { code: number; message: string; stderr: string; stdout: string }

/** argv without 'node tether'; `message` is the failure (or commander's output), `stderr` what the commands wrote there. */
export async function tether(...args: string[]): Promise<Outcome> {
  const program = buildProgram({ ctx: await getCtx() });
  let err = '', stdout = '', stderr = '';
  const quiet = (c: Command) => {
    c.exitOverride().configureOutput({ writeErr: (s) => { err += s; }, writeOut: (s) => { stdout += s; } });
    c.commands.forEach(quiet);
  };
  quiet(program);
  const realErr = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string | Uint8Array) => { stderr += String(s); return true; }) as typeof process.stderr.write;
  try {
    await program.parseAsync(['node', 'tether', ...args]);
    return { code: 0, message: err, stderr, stdout };
  } catch (e) {
    if (e instanceof CommanderError) return { code: e.exitCode, message: (err || e.message).trim(), stderr, stdout };
    return { code: 1, message: (e as Error).message, stderr, stdout };
  } finally {
    process.stderr.write = realErr;
  }
}

/** A run that must succeed and write `out` (given as -o): returns out. */
export async function tetherWrites(out: string, ...args: string[]): Promise<string> {
  const r = await tether(...args, '-o', out);
  expect(r.code, r.message).toBe(0);
  expect(existsSync(out), out).toBe(true);
  return out;
}

export function png(path: string, w: number, h: number, px: (x: number, y: number) => [number, number, number]): string {
  const p = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) { const [r, g, b] = px(x, y); p.data.set([r, g, b, 255], 4 * (y * w + x)); }
  writeFileSync(path, PNG.sync.write(p));
  return path;
}

/** A failed run: non-zero exit, one line (+ commander's help hint) matching `pattern`, no `outputs` and no temp file in `dir`. */
export function expectFailure(r: Outcome, pattern: RegExp, dir: string, outputs: string[]): void {
  expect(r.code).not.toBe(0);
  expect(r.message.split('\n').filter(Boolean).length, r.message).toBeLessThanOrEqual(2);
  expect(r.message).toMatch(pattern);
  for (const o of outputs) expect(existsSync(o), o).toBe(false);
  expect(readdirSync(dir).filter((f) => f.includes('.tmp') || f.includes('.probe'))).toEqual([]);
}
