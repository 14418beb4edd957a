// The code's shape, checked: nothing under src/ but *_node.ts and src/node.ts imports node:
// modules (so the browser build can never reach one), no value-import cycles between modules,
// and no source file over ~300 lines.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
function files(dir: string, ext = /\.ts$/): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p, ext) : ext.test(p) && !p.endsWith('.gen.ts') ? [p] : [];
  });
}
const src = files(join(ROOT, 'src'));
const rel = (p: string) => relative(ROOT, p);

/** Value imports (not `import type`) of relative modules. */
function valueImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^(import|export)\s+(type\s+)?[^;]*?from\s+'(\.[^']+)'/gms)) {
    if (m[2]) continue;
    out.push(resolve(dirname(file), m[3]!.replace(/\.js$/, '.ts')));
  }
  return out;
}

describe('layering', () => {
  test('only *_node.ts files and src/node.ts import node: modules', () => {
    const offenders = src.filter((f) => /from\s+'node:/.test(readFileSync(f, 'utf8')) && !f.endsWith('_node.ts') && rel(f) !== 'src/node.ts');
    expect(offenders.map(rel)).toEqual([]);
  });

  test('no import cycles between src modules (value imports)', () => {
    const graph = new Map(src.map((f) => [f, valueImports(f).filter((d) => src.includes(d))]));
    const state = new Map<string, 1 | 2>();
    const cycles: string[] = [];
    const visit = (n: string, stack: string[]) => {
      state.set(n, 1); stack.push(n);
      for (const d of graph.get(n)!) {
        if (state.get(d) === 1) cycles.push([...stack.slice(stack.indexOf(d)), d].map(rel).join(' -> '));
        else if (!state.has(d)) visit(d, stack);
      }
      stack.pop(); state.set(n, 2);
    };
    for (const f of src) if (!state.has(f)) visit(f, []);
    expect(cycles).toEqual([]);
  });

  test('no source file over 300 lines (src, web, bench, tools)', () => {
    const all = [...src, ...files(join(ROOT, 'web')), ...files(join(ROOT, 'bench')), ...files(join(ROOT, 'tools'), /\.(ts|mjs)$/)];
    const long = all.map((f) => [rel(f), readFileSync(f, 'utf8').trimEnd().split('\n').length] as const).filter(([, n]) => n > 300);
    expect(long).toEqual([]);
  });
});
