// Observation-only counters of what a GpuContext records (issue 14's "before" numbers for the
// fusions): per kernel name, dispatches and the bytes of pooled (activation) tensors bound
// read_write. Whole bindings are counted, so a kernel that writes part of its output binding
// (a slice of a concat) counts all of it: an upper bound on bytes written. Copies into pooled
// tensors count under 'copy' with the bytes copied. Reset with clear(); nothing reads them but
// the benches.

export interface KernelCount { dispatches: number; bytes: number }

export class DispatchCounts {
  readonly byKernel = new Map<string, KernelCount>();

  add(name: string, bytes: number): void {
    const c = this.byKernel.get(name);
    if (c) { c.dispatches++; c.bytes += bytes; } else this.byKernel.set(name, { dispatches: 1, bytes });
  }

  clear(): void {
    this.byKernel.clear();
  }

  /** Totals over every kernel (copies included). */
  total(): KernelCount {
    let dispatches = 0, bytes = 0;
    for (const c of this.byKernel.values()) { dispatches += c.dispatches; bytes += c.bytes; }
    return { dispatches, bytes };
  }

  /** A copy of the counts, most dispatched first. */
  snapshot(): [string, KernelCount][] {
    return [...this.byKernel].map(([k, c]) => [k, { ...c }] as [string, KernelCount])
      .sort((a, b) => b[1].dispatches - a[1].dispatches || b[1].bytes - a[1].bytes);
  }
}
