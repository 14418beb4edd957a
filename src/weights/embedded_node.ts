// Node: where the package's own files are — the embedded default model (weights/fmnist), whose
// tokenizer folder is also the standard CLIP ViT-L/14 tokenizer every SD 1.x model uses.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root (holds package.json), found from this module's location (src/ or dist/). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj) && JSON.parse(readFileSync(pj, 'utf8')).name === 'tether-sd') return dir;
    dir = dirname(dir);
  }
  throw new Error('cannot locate the tether-sd package root');
}

/** The embedded default model (weights/fmnist). */
export function embeddedModelPath(): string {
  const p = join(packageRoot(), 'weights', 'fmnist');
  if (!existsSync(join(p, 'unet', 'config.json'))) throw new Error(`the embedded model is missing at ${p}; pass --model PATH (a diffusers folder or a single-file SD 1.x checkpoint)`);
  return p;
}
