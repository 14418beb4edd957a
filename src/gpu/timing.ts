// GPU timestamps per dispatch, labelled with the module path that was current when the dispatch
// was recorded (the weight prefix, e.g. `down_blocks.1.attentions.0`). Only used by benchmarks:
// timing gives every dispatch its own compute pass, which costs a little.

import { BufferUsage, MapMode } from './flags.js';
export interface TimedDispatch { label: string; kernel: string; ms: number }

export class GpuTimer {
  readonly querySet: GPUQuerySet;
  private readonly resolveBuf: GPUBuffer;
  private readonly labels: { label: string; kernel: string }[] = [];
  /** readbacks of resolved chunks, started in collect(): mapping before the submit that fills
   *  the staging buffer is a validation error ("used in submit while pending map") */
  private readonly chunks: (() => Promise<TimedDispatch[]>)[] = [];

  // 2048 pairs = 4096 queries, the WebGPU maximum for one query set (Dawn rejects more)
  constructor(private readonly device: GPUDevice, readonly capacity = 2048) {
    this.querySet = device.createQuerySet({ type: 'timestamp', count: capacity * 2 });
    this.resolveBuf = device.createBuffer({
      size: capacity * 16,
      usage: BufferUsage.QUERY_RESOLVE | BufferUsage.COPY_SRC,
    });
  }

  get full(): boolean {
    return this.labels.length >= this.capacity;
  }

  /** Reserves a begin/end pair for one dispatch. */
  next(label: string, kernel: string): GPUComputePassTimestampWrites {
    const i = this.labels.length;
    this.labels.push({ label, kernel });
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  /** Records the resolve into `encoder`; collect() reads the results after it was submitted. */
  resolve(encoder: GPUCommandEncoder): void {
    const n = this.labels.length;
    if (n === 0) return;
    const staging = this.device.createBuffer({ size: n * 16, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
    encoder.resolveQuerySet(this.querySet, 0, 2 * n, this.resolveBuf, 0);
    encoder.copyBufferToBuffer(this.resolveBuf, 0, staging, 0, n * 16);
    const labels = this.labels.splice(0, n);
    this.chunks.push(async () => {
      await staging.mapAsync(MapMode.READ);
      const t = new BigUint64Array(staging.getMappedRange().slice(0));
      staging.destroy();
      return labels.map((l, i) => ({ ...l, ms: Number(t[2 * i + 1] - t[2 * i]) / 1e6 }));
    });
  }

  async collect(): Promise<TimedDispatch[]> {
    const all = await Promise.all(this.chunks.splice(0).map((read) => read()));
    return all.flat();
  }

  destroy(): void {
    this.querySet.destroy();
    this.resolveBuf.destroy();
  }
}
