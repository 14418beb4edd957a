// Activation buffers are recycled by size class so a UNet forward allocates almost nothing after
// its first call. Size classes are quarter-octaves (at most 19% waste), not powers of two.
// Release is safe in program order: all work runs on one queue in the order it was encoded.

import { BufferUsage, MapMode } from './flags.js';
const USAGE = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;

export function sizeClass(bytes: number): number {
  const b = Math.max(256, bytes);
  const e = Math.floor(Math.log2(b));
  const step = 2 ** Math.max(e - 2, 0);
  return Math.ceil(b / step) * step;
}

export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  /** bytes in buffers handed out right now, and the most ever handed out at once */
  inUse = 0;
  peak = 0;
  /** bytes of every buffer the pool owns (handed out + cached) */
  owned = 0;
  /** releases of a buffer that was not handed out (a second release is ignored, never recycled twice) */
  doubleReleases = 0;
  private readonly out = new Set<GPUBuffer>();
  /** handed out for the long term (weight-derived copies): not counted in handedOut */
  private readonly kept = new Set<GPUBuffer>();

  /** called for each buffer the pool destroys (the context drops its bind groups) */
  onDestroy: ((buf: GPUBuffer) => void) | null = null;

  constructor(private readonly device: GPUDevice) {}

  acquire(bytes: number, label?: string): GPUBuffer {
    const size = sizeClass(bytes);
    const list = this.free.get(size);
    let buf = list?.pop();
    if (!buf) {
      buf = this.device.createBuffer({ size, usage: USAGE, label });
      this.owned += size;
    }
    this.inUse += size;
    this.peak = Math.max(this.peak, this.inUse);
    this.out.add(buf);
    return buf;
  }

  release(buf: GPUBuffer): void {
    // handing one buffer out twice would let two live tensors share memory: refuse quietly, count it
    if (!this.out.delete(buf) && !this.kept.delete(buf)) { this.doubleReleases++; return; }
    const size = buf.size;
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(buf);
    this.inUse -= size;
  }

  /** Destroys every cached (not handed out) buffer. */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) { this.owned -= b.size; this.onDestroy?.(b); b.destroy(); }
    this.free.clear();
  }

  /** buffers handed out right now (activations; kept ones not counted) */
  get handedOut(): number {
    return this.out.size;
  }

  /** Marks a handed-out buffer as long-lived (e.g. a transposed copy of a weight). */
  keep(buf: GPUBuffer): void {
    if (this.out.delete(buf)) this.kept.add(buf);
  }

  resetPeak(): void {
    this.peak = this.inUse;
  }
}
