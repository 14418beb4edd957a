// Output paths are checked before any work starts: a run that takes minutes must not fail at
// the end because its folder is missing or read-only. The check creates and removes a probe file
// in the target folder, which is the only test that is right for every cause (missing folder, no
// permission, read-only mount, /proc, a path under a regular file).
import { closeSync, existsSync, openSync, statSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

const WHY: Record<string, string> = {
  ENOENT: 'the folder does not exist',
  ENOTDIR: 'a part of the path is not a folder',
  EACCES: 'no permission to write there',
  EPERM: 'no permission to write there',
  EROFS: 'the file system is read-only',
  ENOSPC: 'the disk is full',
  EISDIR: 'it is a folder',
  NOCREATE: 'this folder does not accept new files',
};

/** Throws `${flag} PATH: cannot write there (reason)` unless a file can be created beside `path`. */
export function checkWritable(path: string, flag: string): void {
  const folder = dirname(path) || '.';
  const fail = (code: string | undefined) => {
    throw new Error(`${flag} ${path}: cannot write there (${(code && WHY[code]) ?? code ?? 'unknown error'}; folder ${folder})`);
  };
  let isFolder = false;
  try {
    isFolder = Boolean(statSync(path, { throwIfNoEntry: false })?.isDirectory());
  } catch (e) {
    fail((e as NodeJS.ErrnoException).code);
  }
  if (isFolder) fail('EISDIR');
  const probe = join(folder, `.${basename(path)}.${process.pid}.probe`);
  let fd: number;
  try {
    fd = openSync(probe, 'wx');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // /proc and similar pseudo file systems answer ENOENT for a folder that does exist
    return fail(code === 'ENOENT' && existsSync(folder) ? 'NOCREATE' : code);
  }
  closeSync(fd);
  unlinkSync(probe);
}

/** The files a batch of `n` images is written to: `-o x.png` itself for one image, x-0.png .. x-(n-1).png for more. */
export function batchOutputPaths(output: string, n: number): string[] {
  return n === 1 ? [output] : Array.from({ length: n }, (_, i) => output.replace(/\.png$/i, `-${i}.png`));
}
