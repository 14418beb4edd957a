// Seeded mutations of a small valid file. Every case must resolve or reject with an Error that
// names the file: no crash, no hang, no read outside the file and no read larger than the file
// (reads are the loader's only data-sized allocations).
import { expect, it } from 'vitest';
import { openSafetensors } from '../../src/weights/safetensors.js';
import { encodeSafetensors } from '../../src/weights/safetensors_write.js';
import { mem, rawSafetensors, recordingSource, rng } from './helpers.js';

const BASE = encodeSafetensors({
  w: { dtype: 'F32', shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) },
  h: { dtype: 'F16', shape: [4], data: new Uint16Array([0x3c00, 0x4000, 0x8000, 0x7c00]) },
  b: { dtype: 'BF16', shape: [2], data: new Uint16Array([0x3f80, 0xc000]) },
  d: { dtype: 'F64', shape: [1], data: new Float64Array([0.5]) },
  t: { dtype: 'I64', shape: [2], data: new BigInt64Array([981n, 1n]) },
  u: { dtype: 'U8', shape: [3], data: new Uint8Array([1, 2, 3]) },
}, { format: 'pt' });
const HEADER_LEN = Number(new DataView(BASE.buffer).getBigUint64(0, true));
const HEADER = JSON.parse(new TextDecoder().decode(BASE.subarray(8, 8 + HEADER_LEN))) as Record<string, unknown>;
const DATA = BASE.subarray(8 + HEADER_LEN);

/** Opens and fully reads one mutated file; returns 'ok' or 'rejected'. */
async function exercise(bytes: Uint8Array, label: string): Promise<'ok' | 'rejected'> {
  const src = recordingSource(mem(bytes, `fuzz-${label}.safetensors`));
  let outcome: 'ok' | 'rejected' = 'ok';
  try {
    const f = await openSafetensors(src);
    for (const [name, info] of f.tensors) {
      const raw = await f.readRaw(name);
      expect(raw.byteLength).toBe(info.end - info.begin);
      const numel = info.shape.reduce((a, b) => a * b, 1);
      for (const read of [() => f.readF32(name), () => f.readF16Bits(name), () => f.readI64AsNumbers(name), () => f.readF64(name)]) {
        try {
          expect((await read()).length).toBe(numel);
        } catch (e) {
          expect(e, `${label}: ${name}`).toBeInstanceOf(Error);
          expect((e as Error).message).toContain(src.name);
        }
      }
    }
  } catch (e) {
    expect(e, label).toBeInstanceOf(Error);
    expect((e as Error).message, label).toContain(src.name);
    outcome = 'rejected';
  }
  for (const r of src.reads) {
    expect(r.offset >= 0 && r.length >= 0 && r.offset + r.length <= bytes.byteLength, `${label}: read ${r.offset}+${r.length}`).toBe(true);
  }
  return outcome;
}

function withHeaderText(text: string): Uint8Array {
  return rawSafetensors(null, DATA, text);
}

it('survives 2000+ seeded mutations', async () => {
  const r = rng(20240814);
  const int = (n: number) => Math.floor(r() * n);
  const cases: [string, Uint8Array][] = [];

  // 1. Random byte flips in the prefix and header.
  for (let i = 0; i < 700; i++) {
    const b = BASE.slice();
    for (let k = 0, n = 1 + int(4); k < n; k++) b[int(8 + HEADER_LEN)] = int(256);
    cases.push([`flip${i}`, b]);
  }
  // 2. Truncation at every length: prefix, header, and each tensor's data.
  for (let n = 0; n < BASE.byteLength; n++) cases.push([`trunc${n}`, BASE.slice(0, n)]);
  // 3. Absurd header lengths.
  const lengths = [0n, 1n, 2n, 7n, BigInt(HEADER_LEN - 1), BigInt(HEADER_LEN + 1), BigInt(BASE.byteLength - 8), BigInt(BASE.byteLength),
    100_000_000n, 100_000_001n, 2n ** 32n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n];
  for (let i = 0; i < 200; i++) lengths.push(BigInt(int(2 ** 31)) * BigInt(int(2 ** 31) + 1));
  lengths.forEach((len, i) => {
    const b = BASE.slice();
    new DataView(b.buffer).setBigUint64(0, len, true);
    cases.push([`len${i}`, b]);
  });
  // 4. Structured header edits: huge / negative / fractional shapes, moved offsets, bad dtypes.
  const weird: unknown[] = [[2 ** 40, 2 ** 40], [2 ** 53, 2], [-1], [1.5], [], [0], ['3'], null, [1e308], [2 ** 26, 2 ** 26, 2 ** 26]];
  const dtypes: unknown[] = ['F32', 'F16', 'BF16', 'F64', 'I64', 'I32', 'U8', 'BOOL', 'F8_E4M3', '', 7, null];
  const names = Object.keys(HEADER).filter((k) => k !== '__metadata__');
  for (let i = 0; i < 400; i++) {
    const h = structuredClone(HEADER) as Record<string, { dtype: unknown; shape: unknown; data_offsets: unknown }>;
    const t = h[names[int(names.length)]!]!;
    const what = int(5);
    if (what === 0) t.shape = weird[int(weird.length)];
    else if (what === 1) t.dtype = dtypes[int(dtypes.length)];
    else if (what === 2) t.data_offsets = [int(DATA.byteLength + 8), int(DATA.byteLength + 8)];
    else if (what === 3) t.data_offsets = [int(2) ? 2 ** 53 : -4, 2 ** 60];
    else { h['__metadata__'] = ([{ a: 1 }, [], 'x', { a: 'b' }] as never[])[int(4)]; }
    cases.push([`edit${i}`, withHeaderText(JSON.stringify(h))]);
  }
  // 5. Inserted / deleted header bytes with a consistent length prefix.
  const text = new TextDecoder().decode(BASE.subarray(8, 8 + HEADER_LEN));
  const junk = ['{', '}', '"', ',', ':', '[', ']', '\\', '\u0000', '\uffff', '\ud800', 'é', '1e999', '-'];
  for (let i = 0; i < 300; i++) {
    const at = int(text.length);
    const t = int(2) ? text.slice(0, at) + junk[int(junk.length)] + text.slice(at) : text.slice(0, at) + text.slice(at + 1 + int(3));
    cases.push([`splice${i}`, withHeaderText(t)]);
  }

  expect(cases.length).toBeGreaterThanOrEqual(2000);
  const outcomes = { ok: 0, rejected: 0 };
  for (const [label, bytes] of cases) outcomes[await exercise(bytes, label)]++;
  // Sanity: the mutations exercise both paths.
  expect(outcomes.ok).toBeGreaterThan(20);
  expect(outcomes.rejected).toBeGreaterThan(1500);
});
