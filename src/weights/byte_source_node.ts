// Node-only byte source over a local file. Kept apart from byte_source.ts so that the browser
// bundle never pulls in node:fs. Reads go through one FileHandle with positioned reads, so the
// file is never loaded whole and concurrent reads do not race on a file cursor.
import { open, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { checkRange, type ByteSource } from './byte_source.js';

export async function fileByteSource(path: string): Promise<ByteSource> {
  const handle: FileHandle = await open(path, 'r');
  let closed = false;
  let size: number;
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new Error(`${path}: not a regular file`);
    size = st.size;
  } catch (e) {
    await handle.close();
    throw e;
  }
  const name = path;
  const src: ByteSource = {
    name,
    size,
    async read(offset, length) {
      checkRange(src, offset, length);
      if (closed) throw new Error(`${basename(path)}: read after close`);
      const out = new Uint8Array(length);
      // FileHandle.read may return fewer bytes than asked (large reads are capped at ~2 GB).
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(out, done, length - done, offset + done);
        if (bytesRead === 0) {
          throw new Error(`${name}: unexpected end of file at offset ${offset + done} (file shrank while reading?)`);
        }
        done += bytesRead;
      }
      return out;
    },
    async close() {
      if (closed) return;
      closed = true;
      await handle.close();
    },
  };
  return src;
}
