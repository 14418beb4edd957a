// The browser bundle must never pull in node:* modules: only *_node.ts files may import them,
// and no browser-safe file may import a *_node.ts file.
import { readdirSync, readFileSync } from 'node:fs';
import { expect, it } from 'vitest';

const DIR = new URL('../../src/weights/', import.meta.url).pathname;

it('only *_node.ts files in src/weights import node modules', () => {
  const offenders: string[] = [];
  for (const f of readdirSync(DIR).filter((n) => n.endsWith('.ts'))) {
    if (f.endsWith('_node.ts')) continue;
    const imports = [...readFileSync(DIR + f, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].map((m) => m[1]!);
    for (const spec of imports) if (spec.startsWith('node:') || /_node(\.js)?$/.test(spec)) offenders.push(`${f} -> ${spec}`);
  }
  expect(offenders).toEqual([]);
});
