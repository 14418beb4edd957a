#!/usr/bin/env node
// Builds the library that package.json `exports` names:
//   dist/lib/index.js  (tether-sd)       and dist/lib/node.js (tether-sd/node): one code-split
//       build, so both entries share one copy of every module (an SdPipeline or GpuTensor from one
//       is the same class in the other); npm dependencies stay in node_modules (Node, bundlers);
//   dist/lib/tether.browser.js (tether-sd/browser, and the `browser` condition of tether-sd): the
//       browser-safe surface with its dependencies bundled, importable from a plain page;
//   dist/types: the declarations.
// tether-sd must reach no Node-only module: the build fails naming the import chain when it does.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const NODE_ONLY = new Set([...builtinModules, 'webgpu', 'pngjs', 'commander', 'cli-progress']);
const nodeOnly = (spec) => spec.startsWith('node:') || NODE_ONLY.has(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
const browserSafe = {
  name: 'browser-safe',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => (args.kind === 'entry-point' || !nodeOnly(args.path) ? undefined : {
      errors: [{ text: `"${args.path}" is Node-only but reachable from tether-sd's browser entry (imported by ${relative(ROOT, args.importer)})` }],
    }));
  },
};

execFileSync(process.execPath, [resolve(ROOT, 'tools/gen_wgsl.mjs')], { stdio: 'inherit' });
rmSync(resolve(ROOT, 'dist/lib'), { recursive: true, force: true });
rmSync(resolve(ROOT, 'dist/types'), { recursive: true, force: true });
const common = { bundle: true, format: 'esm', sourcemap: true, logLevel: 'warning', absWorkingDir: ROOT };
const split = await build({
  ...common, entryPoints: { index: 'src/index.ts', node: 'src/node.ts' }, outdir: 'dist/lib', splitting: true,
  chunkNames: 'chunks/[name]-[hash]', platform: 'node', target: 'node20', packages: 'external', metafile: true,
});
// what dist/lib/index.js loads, transitively, must be browser-safe
const outputs = split.metafile.outputs;
const seen = new Set();
const walk = (file, chain) => {
  if (seen.has(file)) return;
  seen.add(file);
  for (const imp of outputs[file].imports) {
    if (imp.external) {
      if (nodeOnly(imp.path)) throw new Error(`tether-sd (dist/lib/index.js) loads the Node-only "${imp.path}" through ${[...chain, file].join(' -> ')}`);
    } else walk(imp.path, [...chain, file]);
  }
};
walk('dist/lib/index.js', []);
await build({ ...common, entryPoints: ['src/index.ts'], outfile: 'dist/lib/tether.browser.js', platform: 'browser', target: 'es2022', plugins: [browserSafe] });
execFileSync(process.execPath, [resolve(ROOT, 'node_modules/typescript/bin/tsc'), '-p', resolve(ROOT, 'tsconfig.lib.json')], { stdio: 'inherit' });
