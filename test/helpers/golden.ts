// Reading reference tensors from ../shared/golden through Tether's own safetensors reader.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileByteSource } from '../../src/weights/byte_source_node.js';
import { openSafetensors, type SafetensorsFile } from '../../src/weights/safetensors.js';

/** ../shared/golden relative to the repository root (override with TETHER_GOLDEN). */
export const GOLDEN_DIR = resolve(process.env.TETHER_GOLDEN ?? join(__dirname, '..', '..', '..', 'shared', 'golden'));

export function goldenPath(rel: string): string {
  const p = join(GOLDEN_DIR, rel);
  if (!existsSync(p)) throw new Error(`golden file missing: ${p} (the shared/ folder must sit beside the repository)`);
  return p;
}

export interface Golden {
  file: SafetensorsFile;
  has(name: string): boolean;
  shape(name: string): number[];
  f32(name: string): Promise<Float32Array>;
  f64(name: string): Promise<Float64Array>;
  i64(name: string): Promise<number[]>;
  scalar(name: string): Promise<number>;
}

const opened = new Map<string, Promise<Golden>>();

/** Opens a golden file once per worker (the handle stays open for the worker's life). */
export function openGolden(rel: string): Promise<Golden> {
  let g = opened.get(rel);
  if (!g) opened.set(rel, (g = openGoldenFile(rel)));
  return g;
}

async function openGoldenFile(rel: string): Promise<Golden> {
  const file = await openSafetensors(await fileByteSource(goldenPath(rel)));
  const info = (name: string) => {
    const t = file.tensors.get(name);
    if (!t) throw new Error(`${rel}: no tensor '${name}'`);
    return t;
  };
  return {
    file,
    has: (name) => file.tensors.has(name),
    shape: (name) => [...info(name).shape],
    f32: (name) => (info(name), file.readF32(name)),
    f64: (name) => (info(name), file.readF64(name)),
    i64: (name) => (info(name), file.readI64AsNumbers(name)),
    scalar: async (name) => (await file.readF64(name))[0],
  };
}
