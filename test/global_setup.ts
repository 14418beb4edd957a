// Regenerates src/kernels/wgsl.gen.ts before any test imports it (fresh clones have none).
import { execFileSync } from 'node:child_process';

export default function setup(): void {
  execFileSync(process.execPath, ['tools/gen_wgsl.mjs'], { stdio: 'inherit' });
}
