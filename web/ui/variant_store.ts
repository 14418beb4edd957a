// The kernel-variant table in localStorage, one entry per adapter: the page's counterpart of the
// Node cache file (src/cli/variant_cache_node.ts; docs/noise.md). The worker's context loads it
// with each model (SdPipeline.open({ variantTable })) and sends it back after each run, so a
// seeded run repeats bit for bit on this browser and adapter, also after a reload or a device loss.
// Saving merges with what is stored now (another tab may have written meanwhile; stored entries
// win, as entries never change). Storage that is full or off only costs a re-measurement.
import { VariantTable } from '../../src/gpu/variant_table.js';

/** The storage key: the table's file name in the Node cache, per adapter (as its entries are). */
export const variantKey = (adapter: string) => `tether/variants.json@${adapter}`;

/** The saved table for this adapter, or null (none yet, storage off, or a damaged entry: measured again). */
export function loadVariantTable(adapter: string): unknown {
  try {
    const text = localStorage.getItem(variantKey(adapter));
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

/** How many choices a saved table holds (0 for none). */
export function variantEntries(table: unknown): number {
  const t = new VariantTable();
  t.load(table);
  return t.size;
}

/** Saves the worker's table merged with the stored one; returns why it could not, or null. */
export function saveVariantTable(adapter: string, table: unknown): string | null {
  const merged = new VariantTable();
  merged.load(loadVariantTable(adapter));
  merged.load(table);
  try {
    localStorage.setItem(variantKey(adapter), JSON.stringify(merged.toJSON()));
    return null;
  } catch (e) {
    return `could not keep the kernel-variant table in this browser's storage: ${(e as Error).message}`;
  }
}
