// Loading progress in bytes, transformers.js' `progress_callback` convention: for each file
// 'initiate' when it is opened, 'progress' on each read (loaded / total of that file, progress in
// percent), 'done' when all its bytes were read; the pipeline adds one 'ready' at the end.
// `loadedAll` / `totalAll` sum over the files opened so far (a loader opens a file only when it
// starts reading it, so the total grows as loading goes).
import type { ModelSource } from './load_pipeline.js';
import type { ByteSource } from '../weights/byte_source.js';
import type { ModelFiles } from '../weights/model_source.js';

export interface LoadProgress {
  status: 'initiate' | 'progress' | 'done' | 'ready';
  file: string;
  loaded: number;
  total: number;
  /** 0..100 */
  progress: number;
  loadedAll?: number;
  totalAll?: number;
}

export function progressModelSource(src: ModelSource, onProgress?: (p: LoadProgress) => void): ModelSource {
  if (!onProgress) return src;
  const sums = { loaded: 0, total: 0 };
  const wrap = (b: ByteSource) => progressByteSource(b, sums, onProgress);
  if (src.kind === 'single-file') return { ...src, file: wrap(src.file), config: src.config && progressFiles(src.config, wrap) };
  return { kind: 'diffusers', files: progressFiles(src.files, wrap) };
}

function progressFiles(files: ModelFiles, wrap: (b: ByteSource) => ByteSource): ModelFiles {
  return {
    name: files.name,
    list: () => files.list(),
    readText: (p) => files.readText(p),
    open: async (p) => {
      const b = await files.open(p);
      return b ? wrap(b) : null;
    },
  };
}

function progressByteSource(src: ByteSource, sums: { loaded: number; total: number }, cb: (p: LoadProgress) => void): ByteSource {
  let loaded = 0;
  sums.total += src.size;
  const report = (status: LoadProgress['status']) => cb({
    status, file: src.name, loaded, total: src.size, progress: src.size ? (100 * loaded) / src.size : 100,
    loadedAll: sums.loaded, totalAll: sums.total,
  });
  report('initiate');
  return {
    name: src.name,
    size: src.size,
    async read(offset, length) {
      const bytes = await src.read(offset, length);
      const fresh = Math.min(length, src.size - loaded);     // headers may be read twice: never over 100 %
      loaded += fresh; sums.loaded += fresh;
      report('progress');
      if (loaded >= src.size) report('done');
      return bytes;
    },
    close: src.close ? () => src.close!() : undefined,
  };
}
