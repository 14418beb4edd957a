// Scoped weight views, like candle's VarBuilder `vs.pp("down_blocks")`. Models are built by
// naming: a module receives a view scoped to its own path and asks for `weight`/`bias` with the
// shape it expects. Every request is recorded, so after a model is built assertAllConsumed()
// turns a missing or unused key into a hard error instead of a silently random layer.
import { newFloatStats, type Dtype, type FloatStats } from './dtype.js';
import type { SafetensorsFile, TensorInfo } from './safetensors.js';

/** One tensor of the tree: where its bytes live and the shape the model sees. */
export interface WeightEntry {
  readonly file: SafetensorsFile;
  /** Key inside `file` (before renaming). */
  readonly fileKey: string;
  readonly info: TensorInfo;
  /** View shape; differs from info.shape only by a reshape with the same element count. */
  readonly shape: readonly number[];
}

export interface WeightsOptions {
  /** File key -> tree key, or null to leave the key out of this tree. */
  rename?: (key: string) => string | null;
  /** View shape for a tree key, e.g. [C, C, 1, 1] -> [C, C]; must keep the element count. */
  reshape?: (key: string, shape: readonly number[]) => readonly number[];
  /** Prefix of error messages, e.g. "unet (sd-v1-4.safetensors)". */
  label?: string;
}

/** Keys that real checkpoints carry but no SD module reads (EMA copies, DDPM schedule buffers). */
export const DEFAULT_IGNORE: readonly RegExp[] = [
  /^model_ema\./,
  /^(betas|alphas_cumprod|alphas_cumprod_prev|log_one_minus_alphas_cumprod|logvar)$/,
  /^(sqrt_|posterior_)\w+$/,
  /(^|\.)position_ids$/,
];

/** A checked, consumed tensor whose bytes are read on demand (upload happens after construction). */
export interface WeightRef {
  readonly key: string;
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  readF32(): Promise<Float32Array>;
  readF16Bits(): Promise<Uint16Array>;
  /** The stored bytes (dtype as in the file), e.g. to upload f32 or f16 weights without a copy. */
  readRaw(): Promise<Uint8Array>;
}

interface Store {
  readonly label: string;
  readonly files: readonly SafetensorsFile[];
  readonly entries: ReadonlyMap<string, WeightEntry>;
  readonly consumed: Set<string>;
  readonly missing: Map<string, readonly number[] | undefined>;
}

/** Throws when a weight read counted NaN/Inf values (or values f16 storage turns into Inf). */
function assertFinite(e: WeightEntry, key: string, stats: FloatStats): void {
  const what = `${e.file.source.name}: tensor ${e.fileKey}${e.fileKey === key ? '' : ` (the model's ${key})`}`;
  if (stats.nonFinite > 0) {
    const n = stats.nonFinite;
    throw new Error(`${what} has ${n} non-finite value${n === 1 ? '' : 's'} (NaN/Inf); the checkpoint is damaged`);
  }
  if (stats.overflowF16 > 0) {
    throw new Error(`${what} has ${stats.overflowF16} value(s) beyond the f16 range (|x| > 65504), which f16 weight storage ` +
      "would turn into Inf; load it with f32 weights (weightDtype 'f32', CLI --dtype f32)");
  }
}

const fmt = (s: readonly number[] | undefined) => (s ? `[${s.join(', ')}]` : 'any shape');
const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

export class Weights {
  private constructor(private readonly store: Store, readonly prefix: string) {}

  /** Merges one or several files (e.g. shards) into one key tree; duplicate keys are an error. */
  static fromFiles(files: readonly SafetensorsFile[], opts: WeightsOptions = {}): Weights {
    const label = opts.label ?? files.map((f) => f.source.name).join(', ');
    const entries = new Map<string, WeightEntry>();
    for (const file of files) {
      for (const [fileKey, info] of file.tensors) {
        const key = opts.rename ? opts.rename(fileKey) : fileKey;
        if (key === null) continue;
        const prev = entries.get(key);
        if (prev) {
          throw new Error(`${label}: key "${key}" comes from both "${prev.fileKey}" in ${prev.file.source.name} and "${fileKey}" in ${file.source.name}`);
        }
        const shape = opts.reshape ? opts.reshape(key, info.shape) : info.shape;
        if (numel(shape) !== numel(info.shape)) {
          throw new Error(`${label}: cannot view "${key}" of shape ${fmt(info.shape)} as ${fmt(shape)}`);
        }
        entries.set(key, { file, fileKey, info, shape });
      }
    }
    return new Weights({ label, files, entries, consumed: new Set(), missing: new Map() }, '');
  }

  /** Closes the underlying byte sources (Node file handles); uploads must have finished. */
  async close(): Promise<void> {
    await Promise.all([...new Set(this.store.files.map((f) => f.source))].map((s) => s.close?.()));
  }

  get label(): string {
    return this.store.label;
  }

  /** Full key of a name relative to this view. */
  key(name: string | number): string {
    return this.prefix ? `${this.prefix}.${name}` : String(name);
  }

  /** A view scoped one or more levels down: w.at('down_blocks', 1) == w.at('down_blocks').at(1). */
  at(...segments: (string | number)[]): Weights {
    return new Weights(this.store, segments.reduce<string>((p, s) => (p ? `${p}.${s}` : String(s)), this.prefix));
  }

  has(name: string | number): boolean {
    return this.store.entries.has(this.key(name));
  }

  /** Full keys under this view, in file order. */
  keys(): string[] {
    const p = this.prefix ? `${this.prefix}.` : '';
    return [...this.store.entries.keys()].filter((k) => k.startsWith(p));
  }

  /**
   * Checks that `name` exists with `expectedShape` (-1 matches any size in that dimension;
   * undefined skips the check) and records it as consumed.
   */
  tensorInfo(name: string | number, expectedShape?: readonly number[]): WeightRef {
    const key = this.key(name);
    const e = this.store.entries.get(key);
    if (!e) {
      this.store.missing.set(key, expectedShape);
      throw new Error(`${this.store.label}: missing weight "${key}" (expected shape ${fmt(expectedShape)})${this.nearby(key)}`);
    }
    if (expectedShape && (expectedShape.length !== e.shape.length || expectedShape.some((d, i) => d !== -1 && d !== e.shape[i]))) {
      // A renamed key (single-file checkpoints) also gets the name the user can find in the file.
      const inFile = e.fileKey === key ? '' : ` (tensor "${e.fileKey}" in ${e.file.source.name})`;
      throw new Error(`${this.store.label}: weight "${key}"${inFile} has shape ${fmt(e.shape)} but the model expects ${fmt(expectedShape)}`);
    }
    this.store.consumed.add(key);
    // Every weight read is checked for NaN/Inf by the conversion pass that reads it: a damaged
    // checkpoint fails here, naming the tensor, instead of producing black images.
    const checked = async <T>(read: (s: FloatStats) => Promise<T>): Promise<T> => {
      const stats = newFloatStats();
      const data = await read(stats);
      assertFinite(e, key, stats);
      return data;
    };
    return {
      key, dtype: e.info.dtype, shape: e.shape,
      readF32: () => checked((s) => e.file.readF32(e.fileKey, s)),
      readF16Bits: () => checked((s) => e.file.readF16Bits(e.fileKey, s)),
      readRaw: () => e.file.readRaw(e.fileKey),
    };
  }

  /** Same as tensorInfo; the name used by module code (`w.tensor('weight', [320, 4, 3, 3])`). */
  tensor(name: string | number, expectedShape?: readonly number[]): WeightRef {
    return this.tensorInfo(name, expectedShape);
  }

  readF32(name: string | number, expectedShape?: readonly number[]): Promise<Float32Array> {
    return this.tensorInfo(name, expectedShape).readF32();
  }

  readF16Bits(name: string | number, expectedShape?: readonly number[]): Promise<Uint16Array> {
    return this.tensorInfo(name, expectedShape).readF16Bits();
  }

  /** Throws listing every requested-but-missing key and every unused key under this view. */
  assertAllConsumed(extraIgnore: readonly RegExp[] = []): void {
    const ignore = [...DEFAULT_IGNORE, ...extraIgnore];
    const p = this.prefix ? `${this.prefix}.` : '';
    const unused = this.keys().filter((k) => !this.store.consumed.has(k) && !ignore.some((r) => r.test(k)));
    const missing = [...this.store.missing].filter(([k]) => k.startsWith(p));
    if (unused.length === 0 && missing.length === 0) return;
    const list = (xs: string[]) => xs.slice(0, 40).map((x) => `  ${x}`).join('\n') + (xs.length > 40 ? `\n  … and ${xs.length - 40} more` : '');
    const parts: string[] = [];
    if (missing.length) parts.push(`${missing.length} missing:\n${list(missing.map(([k, s]) => `${k} ${fmt(s)}`))}`);
    if (unused.length) parts.push(`${unused.length} unused:\n${list(unused.map((k) => `${k} ${fmt(this.store.entries.get(k)!.shape)}`))}`);
    throw new Error(`${this.store.label}${this.prefix ? ` (under "${this.prefix}")` : ''}: weights do not match the model; ${parts.join('\n')}`);
  }

  /** A hint listing keys under the deepest existing parent of a missing key (typos, renames). */
  private nearby(key: string): string {
    const parts = key.split('.');
    for (let n = parts.length - 1; n > 0; n--) {
      const p = `${parts.slice(0, n).join('.')}.`;
      const under = [...this.store.entries.keys()].filter((k) => k.startsWith(p));
      if (under.length) {
        const shown = under.slice(0, 8).map((k) => k.slice(p.length));
        return `; keys under "${p.slice(0, -1)}": ${shown.join(', ')}${under.length > 8 ? ', …' : ''}`;
      }
    }
    return '';
  }
}
