import { describe, expect, it } from 'vitest';
import {
  bf16ArrayToF32, bf16BitsToF32, f16ArrayToF32, f16BitsToF32, f32ArrayToF16, f32ToF16Bits,
} from '../../src/weights/dtype.js';
import { rng } from './helpers.js';

const f32Bits = (x: number) => new Uint32Array(new Float32Array([x]).buffer)[0]!;

describe('f16 <-> f32', () => {
  it('decodes known f16 values', () => {
    const cases: [number, number][] = [
      [0x0000, 0], [0x3c00, 1], [0xc000, -2], [0x3800, 0.5], [0x7bff, 65504], [0x0400, 2 ** -14],
      [0x0001, 2 ** -24], [0x03ff, 1023 * 2 ** -24], [0x3555, 0.333251953125], [0x7c00, Infinity], [0xfc00, -Infinity],
    ];
    for (const [h, v] of cases) expect(f16BitsToF32(h), `0x${h.toString(16)}`).toBe(v);
    expect(Object.is(f16BitsToF32(0x8000), -0)).toBe(true);
    expect(Number.isNaN(f16BitsToF32(0x7e00))).toBe(true);
    expect(Number.isNaN(f16BitsToF32(0xfc01))).toBe(true);
  });

  it('encodes with round-to-nearest-even, overflow and underflow', () => {
    const cases: [number, number][] = [
      [1, 0x3c00], [-2, 0xc000], [65504, 0x7bff], [65519, 0x7bff], [65520, 0x7c00], [1e6, 0x7c00], [-1e6, 0xfc00],
      [1 + 2 ** -11, 0x3c00], // tie -> even (down)
      [1 + 3 * 2 ** -11, 0x3c02], // tie -> even (up)
      [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above the tie
      [2 ** -24, 0x0001], [2 ** -25, 0x0000], // tie between 0 and the smallest subnormal -> 0
      [2 ** -25 * 1.0001, 0x0001], [3 * 2 ** -25, 0x0002], [2 ** -26, 0x0000],
      [2 ** -14 - 2 ** -25, 0x0400], // largest subnormal + half ulp rounds up into the normals
      [0.1, 0x2e66], [-0.1, 0xae66], [Infinity, 0x7c00], [-Infinity, 0xfc00], [1e-30, 0], [-1e-30, 0x8000],
    ];
    for (const [v, h] of cases) expect(f32ToF16Bits(v), `${v}`).toBe(h);
    expect(f32ToF16Bits(-0)).toBe(0x8000);
    const nan = f32ToF16Bits(NaN);
    expect((nan & 0x7c00) === 0x7c00 && (nan & 0x3ff) !== 0).toBe(true);
  });

  it('round-trips all 65536 f16 bit patterns through f32', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const back = f32ArrayToF16(f16ArrayToF32(all));
    for (let h = 0; h < 65536; h++) {
      const isNaN = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      if (isNaN) expect((back[h]! & 0x7c00) === 0x7c00 && (back[h]! & 0x3ff) !== 0).toBe(true);
      else if (back[h] !== h) expect(back[h], `0x${h.toString(16)}`).toBe(h);
    }
  });

  it('matches a brute-force nearest-even reference on random f32 values', () => {
    // Reference: the two f16 neighbours from the sorted table of finite positive f16 values.
    const pos = Array.from({ length: 0x7c00 }, (_, h) => f16BitsToF32(h));
    const r = rng(7);
    for (let i = 0; i < 20000; i++) {
      const x = Math.fround((r() - 0.5) * 2 ** Math.floor(r() * 44 - 28));
      const a = Math.abs(x);
      let lo = 0, hi = pos.length - 1;
      while (hi - lo > 1) { const mid = (lo + hi) >> 1; if (pos[mid]! <= a) lo = mid; else hi = mid; }
      let want: number;
      if (a >= 65520) want = 0x7c00;
      else if (a - pos[lo]! < pos[hi]! - a) want = lo;
      else if (a - pos[lo]! > pos[hi]! - a) want = hi;
      else want = lo % 2 === 0 ? lo : hi;
      if (a === pos[hi]) want = hi;
      expect(f32ToF16Bits(x), `x=${x} bits=0x${f32Bits(x).toString(16)}`).toBe(want | (x < 0 || Object.is(x, -0) ? 0x8000 : 0));
    }
  });
});

describe('bf16', () => {
  it('widens known values exactly', () => {
    expect(bf16BitsToF32(0x3f80)).toBe(1);
    expect(bf16BitsToF32(0x4049)).toBe(3.140625);
    expect(bf16BitsToF32(0xc2f7)).toBe(-123.5);
    expect(bf16BitsToF32(0x7f80)).toBe(Infinity);
    expect(Array.from(bf16ArrayToF32(new Uint16Array([0x3f80, 0xbf80, 0x0000, 0x4000])))).toEqual([1, -1, 0, 2]);
  });
});
