// Bind groups reused across dispatches. Creating one costs far more than recording the dispatch
// that uses it (on Dawn in Node ~100-160 µs against ~15 µs for setPipeline + setBindGroup +
// dispatchWorkgroups, measured on lavapipe; a browser's IPC makes it dearer still), and a UNet
// forward's dispatches repeat exactly from call to call: the buffer pool hands the same buffers
// back in the same order, and the params arena slot is the dispatch's index since the last
// submit. So a bind group is looked up by (pipeline, uniform slot, each binding's buffer and size)
// and created only on a miss. Buffers get ids that are never reused, so an entry naming a
// destroyed buffer can never be hit; forget() drops such entries at once so they do not pin
// memory, and the cache is bounded (least recently used entries go first).

/** Entries kept at most; a UNet forward needs one per dispatch (145 embedded, 303 SD 1.4). */
export const BIND_GROUP_CACHE_SIZE = 4096;

interface Entry { group: GPUBindGroup; ids: number[] }

export class BindGroupCache {
  /** lookups answered from the cache, and bind groups created */
  hits = 0;
  misses = 0;
  private readonly ids = new WeakMap<GPUBuffer, number>();
  private nextId = 1;
  private readonly groups = new Map<string, Entry>();
  private readonly byBuffer = new Map<number, Set<string>>();

  constructor(private readonly device: GPUDevice, private readonly capacity = BIND_GROUP_CACHE_SIZE) {}

  get size(): number { return this.groups.size; }

  /**
   * The bind group of `layout` (pipeline `pipelineId`) over `buffers` (binding numbers `slots`,
   * whole-buffer-from-0 views of `sizes` bytes, except `uniform`: the params arena at `offset`).
   */
  get(pipelineId: number, layout: GPUBindGroupLayout, slots: number[], buffers: GPUBuffer[], sizes: number[],
      offsets: number[]): GPUBindGroup {
    const ids = buffers.map((b) => this.idOf(b));
    let key = `${pipelineId}`;
    for (let i = 0; i < ids.length; i++) key += `|${slots[i]}:${ids[i]}:${offsets[i]}:${sizes[i]}`;
    const hit = this.groups.get(key);
    if (hit) {
      this.hits++;
      this.groups.delete(key);  // most recently used last
      this.groups.set(key, hit);
      return hit.group;
    }
    this.misses++;
    const group = this.device.createBindGroup({
      layout,
      entries: buffers.map((buffer, i) => ({ binding: slots[i]!, resource: { buffer, offset: offsets[i]!, size: sizes[i]! } })),
    });
    this.groups.set(key, { group, ids });
    for (const id of ids) {
      let keys = this.byBuffer.get(id);
      if (!keys) this.byBuffer.set(id, (keys = new Set()));
      keys.add(key);
    }
    if (this.groups.size > this.capacity) this.drop(this.groups.keys().next().value!);
    return group;
  }

  /** Drops every bind group over `buffer` (call before or after destroying it). */
  forget(buffer: GPUBuffer): void {
    const id = this.ids.get(buffer);
    if (id === undefined) return;
    for (const key of [...(this.byBuffer.get(id) ?? [])]) this.drop(key);
    this.byBuffer.delete(id);
  }

  private idOf(b: GPUBuffer): number {
    let id = this.ids.get(b);
    if (id === undefined) this.ids.set(b, (id = this.nextId++));
    return id;
  }

  private drop(key: string): void {
    const e = this.groups.get(key);
    if (!e) return;
    this.groups.delete(key);
    for (const id of e.ids) {
      const keys = this.byBuffer.get(id);
      keys?.delete(key);
      if (keys?.size === 0) this.byBuffer.delete(id);
    }
  }
}
