// Folders the user picks or drops, as (relative path, File) pairs or a directory handle (kept out
// of main.ts, which holds the page's state; these need none).

export function entriesFromFileList(files: FileList | File[]): [string, File][] {
  return Array.from(files).map((f) => [f.webkitRelativePath || f.name, f]);
}

/** A folder from showDirectoryPicker() where the browser has it, else through `fallback` (<input webkitdirectory>). */
export async function pickFolder(id: string, fallback: HTMLInputElement, use: (handle: FileSystemDirectoryHandle) => void): Promise<void> {
  const picker = (window as unknown as { showDirectoryPicker?: (o?: object) => Promise<FileSystemDirectoryHandle> }).showDirectoryPicker;
  if (!picker) { fallback.click(); return; }
  try {
    use(await picker({ mode: 'read', id }));
  } catch (e) {
    if ((e as Error).name !== 'AbortError') fallback.click(); // e.g. blocked in this context
  }
}

/** A dropped folder's files, paths starting with the folder's name (as <input webkitdirectory> gives them). */
export async function entriesFromDirectoryEntry(root: FileSystemDirectoryEntry): Promise<[string, File][]> {
  const out: [string, File][] = [];
  const readAll = (dir: FileSystemDirectoryEntry) => new Promise<FileSystemEntry[]>((ok, fail) => {
    const reader = dir.createReader();
    const all: FileSystemEntry[] = [];
    const next = () => reader.readEntries((batch) => { if (!batch.length) ok(all); else { all.push(...batch); next(); } }, fail);
    next();
  });
  async function walk(dir: FileSystemDirectoryEntry, prefix: string): Promise<void> {
    for (const e of await readAll(dir)) {
      if (e.isDirectory) await walk(e as FileSystemDirectoryEntry, `${prefix}${e.name}/`);
      else out.push([`${prefix}${e.name}`, await new Promise<File>((ok, fail) => (e as FileSystemFileEntry).file(ok, fail))]);
    }
  }
  await walk(root, `${root.name}/`);
  return out;
}
