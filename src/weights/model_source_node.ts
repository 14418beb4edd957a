// Node implementation of ModelFiles over a local diffusers folder. Kept out of model_source.ts so
// the browser bundle never imports node:fs.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileByteSource } from './byte_source_node.js';
import { normalizeRelPath, type ModelFiles } from './model_source.js';

const isMissing = (e: unknown) => ['ENOENT', 'ENOTDIR', 'EISDIR'].includes((e as NodeJS.ErrnoException).code ?? '');

export function nodeModelFiles(dir: string): ModelFiles {
  async function walk(rel: string, out: string[]): Promise<void> {
    for (const ent of await readdir(join(dir, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${ent.name}` : ent.name;
      // Hugging Face cache snapshots are folders of symlinks, so follow links to find out what they are.
      const kind = ent.isSymbolicLink() ? await stat(join(dir, p)).catch(() => null) : ent;
      if (kind?.isDirectory()) await walk(p, out);
      else if (kind?.isFile()) out.push(p);
    }
  }
  return {
    name: dir,
    list: async () => { const out: string[] = []; await walk('', out); return out; },
    async open(relPath) {
      const path = join(dir, normalizeRelPath(relPath));
      try {
        if (!(await stat(path)).isFile()) return null;
        return await fileByteSource(path);
      } catch (e) {
        if (isMissing(e)) return null;
        throw e;
      }
    },
    async readText(relPath) {
      try {
        return await readFile(join(dir, normalizeRelPath(relPath)), 'utf8');
      } catch (e) {
        if (isMissing(e)) return null;
        throw e;
      }
    },
  };
}
