// Node-only: write a safetensors file atomically. Writing to a temporary file in the same
// directory and renaming means a crash or a full disk never leaves a half-written file under
// the final name (rename within one filesystem is atomic on POSIX and replaces on Windows).
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { encodeSafetensors, type TensorToWrite } from './safetensors_write.js';

export async function writeSafetensorsAtomic(
  path: string, tensors: Record<string, TensorToWrite>, metadata?: Record<string, string>,
): Promise<void> {
  const bytes = encodeSafetensors(tensors, metadata);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    const fh = await open(tmp, 'wx');
    try {
      await fh.writeFile(bytes);
      await fh.sync(); // data on disk before the rename makes it visible
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}
