#!/usr/bin/env node
// Builds the browser page into dist/web with esbuild: web/main.ts (the page) and
// web/engine_worker.ts (the engine, in a module worker), bundled from the same src/ the Node CLI
// uses, as ES modules. Node built-ins (node:fs, ...) and the Dawn addon must never be reachable
// from the page: the build fails naming the import chain when one is.
//
//   node tools/build_web.mjs [--outdir dist/web] [--minify]
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const STATIC = ['index.html', 'styles.css'];

/** Imports a browser bundle must not contain: Node built-ins and native/Node-only packages. */
const NODE_ONLY = new Set([...builtinModules, 'webgpu', 'pngjs', 'commander', 'cli-progress']);
function isNodeOnly(spec) {
  if (spec.startsWith('node:')) return true;
  const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
  return NODE_ONLY.has(pkg);
}

/** Fails the build at the first Node-only import, with the file that made it. */
const noNodeImports = {
  name: 'no-node-imports',
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind === 'entry-point' || !isNodeOnly(args.path)) return undefined;
      const from = relative(ROOT, args.importer);
      return {
        errors: [{
          text: `"${args.path}" is Node-only but reachable from the browser page (imported by ${from}). ` +
            'Browser-safe modules must not import node:* or *_node.ts files.',
        }],
      };
    });
  },
};

export async function buildWeb({ outdir = join(ROOT, 'dist', 'web'), minify = false, logLevel = 'warning' } = {}) {
  // The kernels embed their WGSL through a generated module (src/kernels/wgsl.gen.ts).
  execFileSync(process.execPath, [join(ROOT, 'tools', 'gen_wgsl.mjs')], { stdio: 'inherit' });
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const result = await esbuild.build({
    entryPoints: { main: join(ROOT, 'web', 'main.ts'), engine_worker: join(ROOT, 'web', 'engine_worker.ts') },
    outdir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022', 'chrome113'],
    sourcemap: true,
    minify,
    metafile: true,
    logLevel,
    plugins: [noNodeImports],
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  for (const f of STATIC) copyFileSync(join(ROOT, 'web', f), join(outdir, f));
  const sizes = Object.entries(result.metafile.outputs)
    .filter(([p]) => p.endsWith('.js'))
    .map(([p, o]) => `${relative(ROOT, p)} ${(o.bytes / 1024).toFixed(0)} KiB`);
  return { outdir, sizes };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const outIdx = args.indexOf('--outdir');
  try {
    const { outdir, sizes } = await buildWeb({
      outdir: outIdx >= 0 ? resolve(args[outIdx + 1]) : undefined,
      minify: args.includes('--minify'),
    });
    console.log(`built ${relative(ROOT, outdir) || outdir}: ${sizes.join(', ')}`);
  } catch (e) {
    // esbuild has printed the errors with locations already.
    console.error(`build_web: failed${e.errors?.length ? ` (${e.errors.length} error${e.errors.length > 1 ? 's' : ''})` : `: ${e.message}`}`);
    process.exit(1);
  }
}
