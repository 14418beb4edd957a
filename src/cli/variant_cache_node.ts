// The kernel-variant table on disk, per user: $TETHER_CACHE_DIR, else $XDG_CACHE_HOME/tether, else
// ~/.cache/tether; file variants.json (src/gpu/variant_table.ts says what it holds). Runs that load
// the same table choose the same variants, so a seeded run repeats bit for bit on this adapter.
// Saving merges with what the file holds now (another process may have written meanwhile; entries
// already in the file win, as entries never change) and writes atomically (temp file + rename).
// TETHER_CACHE_DIR=off keeps no table on disk (choices are measured again in every process).
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { GpuContext } from '../gpu/context.js';
import { VariantTable } from '../gpu/variant_table.js';

export function variantCachePath(): string | null {
  const env = process.env;
  if (env.TETHER_CACHE_DIR === 'off') return null;
  const dir = env.TETHER_CACHE_DIR || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'tether');
  return join(dir, 'variants.json');
}

function readTable(path: string): unknown {
  try { return JSON.parse(readFileSync(path, 'utf8')); } catch { return null; }  // missing or damaged: measure again
}

/** Loads the saved table into the context (call before the first run). */
export function loadVariantCache(ctx: GpuContext): void {
  const path = variantCachePath();
  if (path) ctx.variants.load(readTable(path));
}

/** Saves the context's table; a failure to write only costs a re-measurement next time (returns the reason). */
export function saveVariantCache(ctx: GpuContext): string | null {
  const path = variantCachePath();
  if (!path) return null;
  const merged = new VariantTable();
  merged.load(readTable(path));
  merged.load(ctx.variants.toJSON());
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(tmp, JSON.stringify(merged.toJSON(), null, 1));
    renameSync(tmp, path);
    return null;
  } catch (e) {
    return `could not save the kernel-variant table to ${path}: ${(e as Error).message}`;
  }
}
