// A GPU tensor is a storage buffer plus a shape and an element type. It holds no math:
// kernels live in src/kernels. Layout is always dense row-major (NCHW for images).

export type DType = 'f32' | 'f16';

export const DTYPE_BYTES: Record<DType, number> = { f32: 4, f16: 2 };

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeStr(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export class GpuTensor {
  constructor(
    readonly buffer: GPUBuffer,
    readonly shape: readonly number[],
    readonly dtype: DType,
    /** true when the buffer came from the context's pool and goes back there on release */
    readonly pooled: boolean,
  ) {}

  get size(): number {
    return numel(this.shape);
  }

  get byteLength(): number {
    return this.size * DTYPE_BYTES[this.dtype];
  }

  /** Same buffer, new shape with the same element count (a free reshape). */
  view(shape: readonly number[]): GpuTensor {
    if (numel(shape) !== this.size) {
      throw new Error(`view: cannot view ${shapeStr(this.shape)} as ${shapeStr(shape)}`);
    }
    return new GpuTensor(this.buffer, shape, this.dtype, this.pooled);
  }
}

/** Throws an Error with `message` when `cond` is false: for shape checks in kernel wrappers. */
export function check(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

/** The bytes of `bytes` zero-padded to a multiple of 4 (writeBuffer's granularity). */
export function padTo4(bytes: ArrayBufferView): Uint8Array {
  const out = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
  out.set(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  return out;
}
