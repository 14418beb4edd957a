// Where a model's files come from: a diffusers folder (Node directory, browser directory handle,
// or a list of dropped files) or one single-file checkpoint. This is the only place above the
// byte sources that knows about file names; it hands the rest of the engine diffusers-named
// Weights trees.
import { blobByteSource, type ByteSource } from './byte_source.js';
import { renameLegacyVaeKey, vaeViewShape } from './aliases.js';
import { COMPONENTS, LDM_PREFIX, layoutFromLdmKeys, ldmShapeToDiffusers, ldmToDiffusers, type Component, type LdmLayout } from './keymap_ldm.js';
import { openSafetensors, type SafetensorsFile } from './safetensors.js';
import { sniffNonSafetensors } from './sniff.js';
import { DEFAULT_IGNORE, Weights } from './weights.js';

export interface ModelFiles {
  /** Shown in error messages (folder path or directory name). */
  readonly name: string;
  /** Every file, as '/'-separated paths relative to the model root. */
  list(): Promise<string[]>;
  /** A byte source for the file, or null when it does not exist. */
  open(relPath: string): Promise<ByteSource | null>;
  /** The file as UTF-8 text, or null when it does not exist. */
  readText(relPath: string): Promise<string | null>;
}

/** Rejects absolute paths and `..` so a model folder can never reach outside itself. */
export function normalizeRelPath(relPath: string): string {
  const parts = relPath.replace(/\\/g, '/').split('/').filter((p) => p !== '' && p !== '.');
  if (relPath.startsWith('/') || parts.some((p) => p === '..')) throw new Error(`invalid model-relative path "${relPath}"`);
  return parts.join('/');
}

/** Browser: files from <input type=file webkitdirectory> or drag-and-drop (top folder stripped). */
export function fileListModelFiles(files: Iterable<File> | ArrayLike<File>, name = 'selected files'): ModelFiles {
  const all = Array.from(files as ArrayLike<File>);
  const rel = all.map((f) => (f.webkitRelativePath || f.name).replace(/\\/g, '/'));
  const top = rel[0]?.split('/')[0];
  const strip = top !== undefined && rel.every((p) => p.startsWith(`${top}/`));
  const byPath = new Map(all.map((f, i) => [strip ? rel[i]!.slice(top!.length + 1) : rel[i]!, f]));
  return {
    name: strip ? top! : name,
    list: async () => [...byPath.keys()],
    open: async (p) => {
      const f = byPath.get(normalizeRelPath(p));
      return f ? blobByteSource(f, `${strip ? top : name}/${normalizeRelPath(p)}`) : null;
    },
    readText: async (p) => (await byPath.get(normalizeRelPath(p))?.text()) ?? null,
  };
}

/** The part of FileSystemDirectoryHandle used here (lib.dom lacks the async-iterable methods). */
export interface DirectoryHandleLike {
  readonly kind: 'directory';
  readonly name: string;
  getDirectoryHandle(name: string): Promise<DirectoryHandleLike>;
  getFileHandle(name: string): Promise<{ getFile(): Promise<File> }>;
  values(): AsyncIterable<{ kind: 'file' | 'directory'; name: string }>;
}

/** Browser: a folder opened with showDirectoryPicker(). */
export function directoryHandleModelFiles(root: DirectoryHandleLike): ModelFiles {
  async function getFile(relPath: string): Promise<File | null> {
    const parts = normalizeRelPath(relPath).split('/');
    try {
      let dir = root;
      for (const p of parts.slice(0, -1)) dir = await dir.getDirectoryHandle(p);
      return await (await dir.getFileHandle(parts[parts.length - 1]!)).getFile();
    } catch (e) {
      if ((e as Error).name === 'NotFoundError' || (e as Error).name === 'TypeMismatchError') return null;
      throw e;
    }
  }
  async function walk(dir: DirectoryHandleLike, prefix: string, out: string[]): Promise<void> {
    for await (const entry of dir.values()) {
      if (entry.kind === 'file') out.push(prefix + entry.name);
      else await walk(await dir.getDirectoryHandle(entry.name), `${prefix}${entry.name}/`, out);
    }
  }
  return {
    name: root.name,
    list: async () => { const out: string[] = []; await walk(root, '', out); return out; },
    open: async (p) => { const f = await getFile(p); return f ? blobByteSource(f, `${root.name}/${normalizeRelPath(p)}`) : null; },
    readText: async (p) => (await getFile(p))?.text() ?? null,
  };
}

export interface ComponentLoadOptions {
  /** Use `*.fp16.safetensors` when present (halves download and memory); falls back to fp32. */
  preferFp16?: boolean;
}

const BASENAME: Readonly<Record<Component, string>> = {
  unet: 'diffusion_pytorch_model', vae: 'diffusion_pytorch_model', text_encoder: 'model',
};

/** Opens one file and turns a non-safetensors file into an error that says what it is. */
async function openChecked(files: ModelFiles, relPath: string): Promise<SafetensorsFile> {
  const src = await files.open(relPath);
  if (!src) throw new Error(`${files.name}: missing ${relPath}`);
  try {
    return await openSafetensors(src);
  } catch (e) {
    await src.close?.();
    throw e;
  }
}

/** Shard list of a `*.safetensors.index.json` (transformers/diffusers sharded checkpoints). */
async function shardPaths(files: ModelFiles, dir: string, indexPath: string): Promise<string[]> {
  const text = (await files.readText(indexPath))!;
  let map: unknown;
  try {
    map = (JSON.parse(text) as { weight_map?: unknown }).weight_map;
  } catch (e) {
    throw new Error(`${files.name}/${indexPath}: invalid JSON (${(e as Error).message})`);
  }
  if (typeof map !== 'object' || map === null) throw new Error(`${files.name}/${indexPath}: no weight_map`);
  return [...new Set(Object.values(map as Record<string, string>))].map((f) => `${dir}/${normalizeRelPath(String(f))}`);
}

/**
 * Weights of one component of a diffusers folder: `unet/diffusion_pytorch_model[.fp16].safetensors`,
 * `vae/…` or `text_encoder/model[.fp16].safetensors` (sharded `.index.json` variants too).
 * VAE keys get the legacy attention renames and the [C,C,1,1] -> [C,C] view.
 */
export async function loadComponentWeights(files: ModelFiles, component: Component, opts: ComponentLoadOptions = {}): Promise<Weights> {
  const present = new Set((await files.list()).map(normalizeRelPath));
  const base = `${component}/${BASENAME[component]}`;
  const variants = opts.preferFp16 ? [`${base}.fp16`, base] : [base, `${base}.fp16`];
  let paths: string[] | null = null;
  for (const v of variants) {
    if (present.has(`${v}.safetensors`)) paths = [`${v}.safetensors`];
    else if (present.has(`${v}.safetensors.index.json`)) paths = await shardPaths(files, component, `${v}.safetensors.index.json`);
    if (paths) break;
  }
  if (!paths) {
    const pickle = [...present].find((p) => p.startsWith(`${component}/`) && /\.(bin|ckpt|pt|pth)$/.test(p));
    if (pickle) {
      const src = await files.open(pickle);
      const what = src ? sniffNonSafetensors(await src.read(0, Math.min(64, src.size))) : null;
      await src?.close?.();
      throw new Error(`${files.name}/${pickle}: ${what ?? 'this is a PyTorch checkpoint, not safetensors; convert it to .safetensors'}`);
    }
    throw new Error(`${files.name}: no weights for ${component} (looked for ${variants.map((v) => `${v}.safetensors`).join(', ')})`);
  }
  const label = `${component} (${files.name}/${paths.length === 1 ? paths[0] : `${base}.*`})`;
  const settled = await Promise.allSettled(paths.map((p) => openChecked(files, p)));
  const opened = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  try {
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    if (component !== 'vae') return Weights.fromFiles(opened, { label });
    return Weights.fromFiles(opened, { label, rename: renameLegacyVaeKey, reshape: vaeViewShape });
  } catch (e) {
    await Promise.all(opened.map((f) => f.source.close?.())); // no handle outlives a failed load
    throw e;
  }
}

export interface SingleFileWeights {
  readonly unet: Weights;
  readonly vae: Weights;
  readonly text_encoder: Weights;
  readonly layout: LdmLayout;
  /** Every tensor's shape under its key in the file, for reading the configuration off them. */
  readonly shapes: ReadonlyMap<string, readonly number[]>;
  readonly metadata: Readonly<Record<string, string>>;
}

/** Explains why a file is not an SD 1.x single file, when the key names tell; null if it may be one. */
function notSd1(name: string, keys: string[]): Error | null {
  const has = (p: string) => keys.some((k) => k.startsWith(p));
  let what: string | null = null;
  // Checked first: SDXL and SD 2.x files also have model.diffusion_model.* keys.
  if (has('conditioner.embedders.')) what = 'it looks like an SDXL checkpoint';
  else if (has('cond_stage_model.model.')) what = 'it looks like an SD 2.x checkpoint (OpenCLIP text encoder)';
  else if (has(LDM_PREFIX.unet)) return null;
  else if (has('down_blocks.') || has('encoder.down_blocks.') || has('text_model.')) {
    what = 'it is a single diffusers component file; point at the model folder instead';
  } else what = 'it has no model.diffusion_model.* keys';
  return new Error(`${name}: not a Stable Diffusion 1.x single-file checkpoint: ${what}`);
}

/**
 * Splits a CompVis/LDM single-file SD 1.x checkpoint into diffusers-named unet / vae /
 * text_encoder trees. Keys outside the three components must match DEFAULT_IGNORE
 * (EMA copies, DDPM buffers); anything else is an error listing the keys.
 */
export async function loadSingleFileWeights(src: ByteSource, opts: { layout?: LdmLayout } = {}): Promise<SingleFileWeights> {
  const file = await openSafetensors(src);
  const keys = [...file.tensors.keys()];
  const notSd1Error = notSd1(src.name, keys);
  if (notSd1Error) throw notSd1Error;
  const layout = opts.layout ?? layoutFromLdmKeys(keys);
  const mapped = new Map<string, { component: Component; key: string }>();
  const unknown: string[] = [];
  for (const k of keys) {
    const m = ldmToDiffusers(k, layout);
    if (m) mapped.set(k, m);
    else if (!DEFAULT_IGNORE.some((r) => r.test(k))) unknown.push(k);
  }
  if (unknown.length) {
    throw new Error(`${src.name}: ${unknown.length} keys do not belong to an SD 1.x UNet/VAE/text encoder: ${unknown.slice(0, 20).join(', ')}${unknown.length > 20 ? ', …' : ''}`);
  }
  const tree = (c: Component) => Weights.fromFiles([file], {
    label: `${c} (${src.name})`,
    rename: (k) => { const m = mapped.get(k); return m && m.component === c ? m.key : null; },
    reshape: (k, shape) => ldmShapeToDiffusers(c, k, shape),
  });
  const [unet, vae, text_encoder] = COMPONENTS.map(tree) as [Weights, Weights, Weights];
  const shapes = new Map([...file.tensors].map(([k, t]) => [k, t.shape]));
  return { unet, vae, text_encoder, layout, shapes, metadata: file.metadata };
}
