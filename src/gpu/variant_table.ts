// The kernel-variant table of one GpuContext: which variant each (adapter, op, shape class, dtypes)
// uses. Determinism rests on one invariant: an entry, once set, never changes. A run is then
// bit-identical to another run with the same seed, model, adapter and table as long as every class
// it meets was chosen before its first use — which is why tasks first run a short discovery pass
// (src/pipeline/variant_warmup.ts) that meets every class, measure what is missing, and then FREEZE
// the table: a class first met while frozen is pinned to its provisional variant at once (recorded
// as such, so it is persisted and repeats), never measured in the background and switched later.
// The table is plain data; measuring lives in src/kernels/select_variant.ts, and persistence in the
// front-ends (Node: src/cli/variant_cache_node.ts, ~/.cache/tether/variants.json).

export interface VariantRecord {
  variant: string;
  /** ms of each candidate on the proxy problem (its fastest interleaved run); empty when pinned */
  ms: Record<string, number>;
  /** the proxy problem measured, or 'pinned: first met while frozen' */
  proxy: string;
  /** runs of the proxy per timed pass, per candidate (absent in tables measured before it was recorded) */
  repeats?: Record<string, number>;
}

/** What a table serialises to (the Node cache file's format). */
export interface VariantTableJson {
  version: 1;
  entries: Record<string, VariantRecord>;
  /** run signatures whose discovery pass has been done (every class they meet is in `entries`) */
  discovered: string[];
}

export class VariantTable {
  private readonly entries = new Map<string, VariantRecord>();
  private readonly discovered = new Set<string>();
  private readonly used = new Set<string>();
  private frozenDepth = 0;
  /** classes met while not frozen and not yet chosen: key -> measures them (select_variant.ts) */
  readonly pending = new Map<string, () => Promise<VariantRecord>>();

  get frozen(): boolean {
    return this.frozenDepth > 0;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): VariantRecord | undefined {
    return this.entries.get(key);
  }

  /** Sets an entry that is not set yet; an existing entry is kept (entries never change). */
  set(key: string, rec: VariantRecord): VariantRecord {
    const have = this.entries.get(key);
    if (have) return have;
    this.entries.set(key, rec);
    return rec;
  }

  /** Notes that a call of class `key` ran `variant` in the current run (for the run's hash). */
  noteUse(key: string, variant: string): void {
    this.used.add(`${key} -> ${variant}`);
  }

  /** Runs `fn` with the table frozen (nestable): no class may be measured or changed meanwhile. */
  async frozenWhile<R>(fn: () => Promise<R>): Promise<R> {
    this.frozenDepth++;
    try { return await fn(); } finally { this.frozenDepth--; }
  }

  hasDiscovered(signature: string): boolean {
    return this.discovered.has(signature);
  }

  markDiscovered(signature: string): void {
    this.discovered.add(signature);
  }

  /** Forgets which entries the last run used (call at the start of a run). */
  beginRun(): void {
    this.used.clear();
  }

  /** The 'class -> variant' pairs used since beginRun(), sorted: what a run's result depends on. */
  usedEntries(): string[] {
    return [...this.used].sort();
  }

  /** A short hash of usedEntries() (FNV-1a 64, hex), recorded in outputs so a run can be repeated. */
  usedHash(): string {
    return fnv1a64(JSON.stringify(this.usedEntries()));
  }

  toJSON(): VariantTableJson {
    return { version: 1, entries: Object.fromEntries(this.entries), discovered: [...this.discovered].sort() };
  }

  /**
   * Merges a saved table. Entries already set here win (they may have been used); malformed
   * entries are skipped, so a damaged cache file costs a re-measurement, never a wrong variant.
   */
  load(saved: unknown): void {
    if (!saved || typeof saved !== 'object') return;
    const s = saved as Partial<VariantTableJson>;
    for (const [k, v] of Object.entries(s.entries ?? {})) {
      if (v && typeof v.variant === 'string') {
        this.set(k, { variant: v.variant, ms: v.ms ?? {}, proxy: String(v.proxy ?? ''), ...(v.repeats ? { repeats: v.repeats } : {}) });
      }
    }
    for (const d of Array.isArray(s.discovered) ? s.discovered : []) if (typeof d === 'string') this.discovered.add(d);
  }

  clear(): void {
    this.entries.clear();
    this.pending.clear();
    this.discovered.clear();
    this.used.clear();
  }
}

function fnv1a64(s: string): string {
  let h = 0xcbf29ce484222325n;
  const bytes = new TextEncoder().encode(s);
  for (const b of bytes) h = BigInt.asUintN(64, (h ^ BigInt(b)) * 0x100000001b3n);
  return h.toString(16).padStart(16, '0');
}
