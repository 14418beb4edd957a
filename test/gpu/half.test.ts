// The one f16 codec (src/gpu/half.ts) as GPU uploads use it: the bulk paths agree with the scalar
// codec, and the values that differed between the two former codecs (NaN) now keep their class.
import { describe, expect, it } from 'vitest';
import { f16BitsToF32, f32ToF16Bits, fromF16Array, toF16Array } from '../../src/gpu/half.js';
import { f16ArrayToF32, f32ArrayToF16, newFloatStats } from '../../src/weights/dtype.js';

const bitsOf = (x: number) => new Uint32Array(new Float32Array([x]).buffer)[0]!;
const f32OfBits = (u: number) => new Float32Array(new Uint32Array([u]).buffer)[0]!;

describe('f16 codec shared by uploads and the weight loader', () => {
  it('narrows with round-to-nearest-even, subnormals, overflow, Inf and NaN', () => {
    const cases: [number, number][] = [
      [1, 0x3c00], [-2, 0xc000], [65504, 0x7bff], [65520, 0x7c00], [-1e6, 0xfc00],
      [Infinity, 0x7c00], [-Infinity, 0xfc00], [2 ** -24, 0x0001], [2 ** -25, 0x0000], [3 * 2 ** -25, 0x0002],
      [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], [-0, 0x8000], [2 ** -14, 0x0400],
    ];
    for (const [x, h] of cases) expect(f32ToF16Bits(x), `${x}`).toBe(h);
    const nan = f32ToF16Bits(NaN), payloadNan = f32ToF16Bits(f32OfBits(0xff800001 | 0x7fe000));
    expect(nan & 0x7c00).toBe(0x7c00);
    expect(nan & 0x3ff).not.toBe(0);
    expect(payloadNan & 0x8000).toBe(0x8000);               // sign kept
    expect(payloadNan & 0x3ff).toBe(0x200 | 0x3ff);          // quiet bit set, top payload bits kept
    expect(Number.isNaN(f16BitsToF32(0x7c01))).toBe(true);   // a signalling f16 NaN widens to NaN
    expect(f16BitsToF32(0xfc00)).toBe(-Infinity);
  });

  it('bulk paths (uploads, readbacks, loader) equal the scalar codec on every f16 value and edge f32 bits', () => {
    const all = Uint16Array.from({ length: 65536 }, (_, h) => h);
    const wide = fromF16Array(all);
    for (let h = 0; h < 65536; h++) expect(bitsOf(wide[h]!), `0x${h.toString(16)}`).toBe(bitsOf(f16BitsToF32(h)));
    expect(f16ArrayToF32(all)).toEqual(wide);
    const src = new Float32Array([0, -0, 1, 65519.99, 65520, 5.9604645e-8, 2.9802322e-8, NaN, -Infinity, 1 / 3, -1e-30]);
    const viaUpload = toF16Array(src), viaLoader = f32ArrayToF16(src), viaStats = f32ArrayToF16(src, newFloatStats());
    const scalar = Uint16Array.from(src, (x) => f32ToF16Bits(x));
    expect(viaUpload).toEqual(scalar);
    expect(viaLoader).toEqual(scalar);
    expect(viaStats).toEqual(scalar);
    expect(toF16Array([1 / 3, 0.1])).toEqual(Uint16Array.from([1 / 3, 0.1], (x) => f32ToF16Bits(x)));  // plain numbers
    // a round trip keeps every f16 value, NaNs included
    expect(toF16Array(wide)).toEqual(all.map((h) => ((h & 0x7c00) === 0x7c00 && (h & 0x3ff) ? h | 0x200 : h)));
  });
});
