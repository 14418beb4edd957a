// Every kernel definition must agree with its WGSL file: defineKernel parsed a non-empty Params
// struct and a gap-free binding list, every Params field and binding is used by the shader,
// override defaults name declared overrides, and every src/kernels/wgsl file has a wrapper that
// builds a kernel from it. Wrappers are discovered from the directory, so new ones are covered.
// A last GPU test builds every kernel (f32, and f16 where the adapter has it).
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import type { Kernel } from '../../src/gpu/kernel.js';
import { wgsl } from '../../src/kernels/wgsl.gen.js';
import { gpuTest } from '../helpers/gpu.js';

const DIR = new URL('../../src/kernels/', import.meta.url);
const NOT_WRAPPERS = new Set(['index.ts', 'grid.ts', 'wgsl.gen.ts']);
const wrapperFiles = readdirSync(DIR).filter((f) => f.endsWith('.ts') && !NOT_WRAPPERS.has(f)).sort();
const wgslFiles = readdirSync(new URL('wgsl/', DIR)).filter((f) => f.endsWith('.wgsl')).map((f) => f.slice(0, -5)).sort();

function isKernel(v: unknown): v is Kernel {
  const k = v as Kernel;
  return typeof v === 'object' && v !== null && typeof k.name === 'string' && typeof k.source === 'string' &&
    Array.isArray(k.params) && Array.isArray(k.bindings);
}

const kernels: { file: string; exportName: string; k: Kernel }[] = [];
for (const file of wrapperFiles) {
  const mod = (await import(new URL(file, DIR).href)) as Record<string, unknown>;
  for (const [exportName, v] of Object.entries(mod)) if (isKernel(v)) kernels.push({ file, exportName, k: v });
}
const ENABLE_RE = /^\s*enable\s+([\w,\s]+);\s*$/gm;
const fileOf = (k: Kernel) => wgslFiles.find((f) => (wgsl as Record<string, string>)[f].replace(ENABLE_RE, '') === k.source);
/** shader text without comments, so a use in a comment does not count */
const code = (k: Kernel) => k.source.replace(/\/\/.*$/gm, '');

test('found the wrappers and their kernels', () => {
  expect(wrapperFiles.length).toBeGreaterThan(5);
  expect(kernels.length).toBeGreaterThanOrEqual(wrapperFiles.length - 1);
});

describe.each(kernels.map((e) => [`${e.file}:${e.exportName}`, e] as const))('%s', (_, { k }) => {
  test('Params: non-empty, matches the struct text, packed as 4-byte scalars', () => {
    expect(k.params.length).toBeGreaterThan(0);
    const body = /struct\s+Params\s*\{([^}]*)\}/.exec(k.source)?.[1] ?? '';
    const fields = body.replace(/\/\/.*$/gm, '').split(/[,\n]/).map((s) => s.trim()).filter(Boolean)
      .map((s) => s.split(':').map((t) => t.trim()));
    expect(k.params.map((f) => [f.name, f.type])).toEqual(fields);
    expect(new Set(k.params.map((f) => f.name)).size).toBe(k.params.length);
    expect(k.paramBytes).toBe(Math.ceil((4 * k.params.length) / 16) * 16);
    for (const f of k.params) expect(code(k), `Params.${f.name} is never read`).toMatch(new RegExp(`\\bp\\.${f.name}\\b`));
  });

  test('bindings: p at 0, then storage 1..n-1, unique names, all used, at least one output', () => {
    expect(k.bindings[0]).toEqual({ name: 'p', binding: 0, kind: 'uniform' });
    k.bindings.forEach((b, i) => expect(b.binding).toBe(i));
    expect(k.bindings.slice(1).every((b) => b.kind !== 'uniform')).toBe(true);
    expect(new Set(k.bindings.map((b) => b.name)).size).toBe(k.bindings.length);
    expect(k.bindings.some((b) => b.kind === 'read_write')).toBe(true);
    const declared = (k.source.match(/@binding\(\d+\)/g) ?? []).length;
    expect(k.bindings.length).toBe(declared);
    const body = code(k).replace(/@group\(0\)[^;]*;/g, '');
    for (const b of k.bindings.slice(1)) expect(body, `binding '${b.name}' is never used`).toMatch(new RegExp(`\\b${b.name}\\[`));
  });

  test('entry point main; override defaults name declared overrides; built from a wgsl file', () => {
    expect(k.source).toMatch(/@compute[\s\S]*fn\s+main\s*\(/);
    for (const o of Object.keys(k.overrides)) expect(k.source, `override ${o}`).toMatch(new RegExp(`override\\s+${o}\\s*:`));
    expect(fileOf(k), `kernel '${k.name}' source is not one of src/kernels/wgsl/*.wgsl`).toBeDefined();
  });
});

test.each(wgslFiles)('%s.wgsl has a wrapper that builds a kernel from it', (f) => {
  const users = wrapperFiles.filter((w) => new RegExp(`\\bwgsl\\.${f}\\b`).test(readFileSync(new URL(w, DIR), 'utf8')));
  expect(users, `no src/kernels/*.ts uses wgsl.${f}`).not.toHaveLength(0);
  expect(kernels.some((e) => fileOf(e.k) === f), `no exported kernel object is built from ${f}.wgsl`).toBe(true);
});

/** The text of `fn name(...) {...}` in a WGSL source (brace-matched), whitespace-normalised. */
function wgslFunction(src: string, name: string): string | undefined {
  const start = src.search(new RegExp(`\\bfn\\s+${name}\\s*\\(`));
  if (start < 0) return undefined;
  let depth = 0;
  for (let i = src.indexOf('{', start); i < src.length; i++) {
    if (src[i] === '{') depth++;
    else if (src[i] === '}' && --depth === 0) return src.slice(start, i + 1).replace(/\s+/g, ' ');
  }
  return undefined;
}

// `// Copied from other.wgsl fn_name` (diffusers' convention): the function must stay identical.
const COPIES: [string, string, string, string][] = wgslFiles.flatMap((f) =>
  [...(wgsl as Record<string, string>)[f].matchAll(/\/\/ Copied from (\w+)\.wgsl (\w+)/g)]
    .map((m): [string, string, string, string] => [`${f}.wgsl: ${m[2]} from ${m[1]}.wgsl`, f, m[1], m[2]]));
test.each(COPIES.length ? COPIES : [['(no Copied from markers)', '', '', '']])('%s', (_, file, from, fn) => {
  if (!file) return;
  const src = (wgsl as Record<string, string>)[from];
  expect(src, `${from}.wgsl does not exist`).toBeDefined();
  const original = wgslFunction(src, fn);
  expect(original, `${from}.wgsl has no fn ${fn}`).toBeDefined();
  expect(wgslFunction((wgsl as Record<string, string>)[file], fn)).toBe(original);
});

gpuTest('every kernel compiles (f32; f16 activations and weights where supported)', async (ctx) => {
  for (const { k } of kernels) {
    ctx.pipelines.get(k, { T: 'f32', W: 'f32' }, { ...k.overrides });
    if (ctx.hasF16) ctx.pipelines.get(k, { T: 'f16', W: 'f16' }, { ...k.overrides });
  }
  await ctx.checkErrors();
});
