// Builds the Node CLI bundle dist/tether.mjs from src/cli/bin.ts (esbuild). The Dawn addon
// (`webgpu`) stays external: it is a native module loaded from node_modules at run time.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync } from 'node:fs';

execFileSync(process.execPath, ['tools/gen_wgsl.mjs'], { stdio: 'inherit' });
await build({
  entryPoints: ['src/cli/bin.ts'],
  outfile: 'dist/tether.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['webgpu'],
  sourcemap: true,
  // CommonJS dependencies bundled into an ES module still call require() for Node built-ins
  banner: { js: "import { createRequire as __tetherRequire } from 'node:module'; const require = __tetherRequire(import.meta.url);" },
  logLevel: 'warning',
});
chmodSync('dist/tether.mjs', 0o755);
