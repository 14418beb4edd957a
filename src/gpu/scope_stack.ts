// The bookkeeping behind GpuContext.scope() (tfjs' tidy for pooled WebGPU buffers): a stack of
// open scopes, each with the pooled buffers allocated while it was innermost. Closing a scope
// frees its buffers except those reachable from its result, which move to the enclosing scope.
import { GpuTensor } from './tensor.js';

export class ScopeStack {
  private readonly open: Set<GPUBuffer>[] = [];

  /** A buffer just allocated belongs to the innermost scope (if any). */
  track(b: GPUBuffer): void {
    this.open[this.open.length - 1]?.add(b);
  }

  /** A buffer released by hand (or kept for the long term) is no scope's any more. */
  forget(b: GPUBuffer): void {
    for (const s of this.open) s.delete(b);
  }

  run<R>(fn: () => R, release: (b: GPUBuffer) => void): R {
    const mine = new Set<GPUBuffer>();
    this.open.push(mine);
    const close = (result: unknown) => {
      const i = this.open.lastIndexOf(mine);
      if (i >= 0) this.open.splice(i, 1);
      const keep = new Set<GPUBuffer>();
      collectBuffers(result, keep, 2);
      for (const b of mine) if (!keep.has(b)) release(b);
      const parent = this.open[this.open.length - 1];
      if (parent) for (const b of keep) if (mine.has(b)) parent.add(b);
    };
    let result: R;
    try {
      result = fn();
    } catch (e) {
      close(undefined);
      throw e;
    }
    if (result instanceof Promise) {
      return result.then((r) => { close(r); return r; }, (e) => { close(undefined); throw e; }) as R;
    }
    close(result);
    return result;
  }
}

/** Buffers of the tensors in `v`: a tensor, or arrays / plain objects of them, `depth` levels down. */
function collectBuffers(v: unknown, into: Set<GPUBuffer>, depth: number): void {
  if (v instanceof GpuTensor) { into.add(v.buffer); return; }
  if (depth < 0 || v === null || typeof v !== 'object') return;
  if (Array.isArray(v)) { for (const x of v) collectBuffers(x, into, depth - 1); return; }
  if (Object.getPrototypeOf(v) === Object.prototype) for (const x of Object.values(v)) collectBuffers(x, into, depth - 1);
}
