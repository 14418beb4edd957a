// GpuContext: the one object kernels talk to. It owns the device, the activation buffer pool,
// the pipeline cache, and a command encoder that collects every dispatch of a forward pass into
// compute passes, submitted every SUBMIT_EVERY dispatches and when results are needed (readback).
import { BufferUsage, MapMode } from './flags.js';
import { BindGroupCache } from './bind_group_cache.js';
import { BufferPool } from './buffer_pool.js';
import { resolveBindings } from './dispatch_bindings.js';
import { DispatchCounts } from './dispatch_counts.js';
import { fromF16Array, toF16Array } from './half.js';
import type { Kernel, KernelTypes } from './kernel.js';
import { PipelineCache } from './pipeline_cache.js';
import { check, DTYPE_BYTES, GpuTensor, numel, padTo4, shapeStr, type DType } from './tensor.js';
import { GpuTimer, type TimedDispatch } from './timing.js';
import { ScopeStack } from './scope_stack.js';
import { VariantTable } from './variant_table.js';

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  description: string;
  isFallbackAdapter: boolean;
  /** subgroup sizes the adapter reports (0 when unknown) */
  subgroupMinSize: number;
  subgroupMaxSize: number;
}

export interface DispatchOptions {
  types?: Partial<KernelTypes>;
  overrides?: Record<string, number>;
}

/** Dispatches recorded before a submit is forced (bounds the uniform arena and encoder size). */
const MAX_PENDING = 2048;
/**
 * Dispatches per submit while recording, so the adapter starts while the host records the rest
 * (the embedded UNet's 145 dispatches are ~6 ms of JavaScript on Dawn in Node; submitted at the
 * readback, the adapter idled through them). Same order and kernels: bit-identical results.
 * Measured in bench/RESULTS.md, "Submitting while recording".
 */
export const SUBMIT_EVERY = 16;

export class GpuContext {
  readonly pool: BufferPool;
  readonly pipelines: PipelineCache;
  readonly hasF16: boolean;
  readonly hasSubgroups: boolean;
  readonly hasTimestamps: boolean;
  readonly limits: GPUSupportedLimits;
  /** bytes of non-pooled buffers alive (weights, uploads) */
  residentBytes = 0;
  /** which kernel variant each shape class uses on this device (entries never change once set) */
  readonly variants = new VariantTable();
  /** module path stack used to label timings (`down_blocks.0.resnets.1`) */
  readonly modulePath: string[] = [];
  /** dispatches and bytes written to pooled tensors, per kernel (observation only; see dispatch_counts.ts) */
  readonly counts = new DispatchCounts();
  /** bind groups reused across dispatches (bind_group_cache.ts) */
  readonly bindGroups: BindGroupCache;
  /** how read() and sync() await the GPU (Node on a software adapter sleeps between ticks: gpu_wait_node.ts) */
  awaitGpu: <T>(p: Promise<T>) => Promise<T> = (p) => p;
  /** dispatches per submit (SUBMIT_EVERY; at most MAX_PENDING, the uniform arena's slots) */
  submitEvery = SUBMIT_EVERY;

  private readonly maxWorkgroups: number;
  private readonly maxBinding: number;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private pending = 0;
  private readonly uniformStride: number;
  private readonly uniformBuf: GPUBuffer;
  private readonly uniformData: ArrayBuffer;
  private readonly uniformView: DataView;
  private readonly errors: string[] = [];
  private timer: GpuTimer | null = null;
  private lostReason: string | null = null;
  /** open scope() calls and the pooled buffers each allocated */
  private readonly scopes = new ScopeStack();

  constructor(readonly device: GPUDevice, readonly adapter: AdapterDescription) {
    this.pool = new BufferPool(device);
    this.bindGroups = new BindGroupCache(device);
    this.pool.onDestroy = (b) => this.bindGroups.forget(b);
    this.pipelines = new PipelineCache(device);
    this.hasF16 = device.features.has('shader-f16');
    this.hasSubgroups = device.features.has('subgroups');
    this.hasTimestamps = device.features.has('timestamp-query');
    this.limits = device.limits;
    // plain numbers: dawn.node's limits are native getters, read per binding per dispatch
    this.maxWorkgroups = this.limits.maxComputeWorkgroupsPerDimension;
    this.maxBinding = this.limits.maxStorageBufferBindingSize;
    this.uniformStride = Math.max(256, device.limits.minUniformBufferOffsetAlignment);
    this.uniformData = new ArrayBuffer(this.uniformStride * MAX_PENDING);
    this.uniformView = new DataView(this.uniformData);
    this.uniformBuf = device.createBuffer({
      size: this.uniformData.byteLength,
      usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST,
      label: 'params arena',
    });
    device.addEventListener?.('uncapturederror', (ev) => {
      this.errors.push(`WebGPU error: ${(ev as GPUUncapturedErrorEvent).error.message}`);
    });
    void device.lost.then((info) => {
      this.lostReason = `the GPU device was lost (${info.reason}): ${info.message}`;
    });
  }

  /** A pooled activation tensor with undefined contents. */
  alloc(shape: readonly number[], dtype: DType = 'f32'): GpuTensor {
    const bytes = numel(shape) * DTYPE_BYTES[dtype];
    check(bytes > 0, `alloc: empty tensor ${shapeStr(shape)}`);
    const t = new GpuTensor(this.pool.acquire(bytes), shape, dtype, true);
    this.scopes.track(t.buffer);
    return t;
  }

  /** Returns pooled tensors to the pool; later dispatches may reuse their buffers. */
  release(...tensors: (GpuTensor | undefined | null)[]): void {
    for (const t of tensors) {
      if (!t?.pooled) continue;
      this.pool.release(t.buffer);
      this.scopes.forget(t.buffer);
    }
  }

  /**
   * Marks a pooled tensor as long-lived (it outlives any scope, like a weight): for copies derived
   * from weights and cached with them. Free it with release() when its weight goes.
   */
  keep<T extends GpuTensor>(t: T): T {
    if (t.pooled) { this.pool.keep(t.buffer); this.scopes.forget(t.buffer); }
    return t;
  }

  /**
   * Runs `fn` and frees every pooled tensor allocated inside it except those in its result (a
   * tensor, or arrays / plain objects holding tensors, two levels deep), which pass to the
   * enclosing scope — tfjs' tidy() for WebGPU buffers. `fn` may be async; scopes nest. Tensors
   * released by hand inside are not released again. Freed buffers may be reused by the next
   * dispatch, which is safe: all work runs on one queue in recorded order.
   */
  scope<R>(fn: () => R): R {
    return this.scopes.run(fn, (b) => this.pool.release(b));
  }

  /**
   * Uploads host data as a tensor of `dtype` (f32 data is converted to f16 when asked).
   * `resident` tensors (weights) get their own buffer; others come from the pool.
   */
  upload(data: Float32Array | Uint16Array | Uint32Array | Int32Array, shape: readonly number[],
         dtype: DType = 'f32', resident = false): GpuTensor {
    check(data.length === numel(shape), `upload: ${data.length} values for shape ${shapeStr(shape)}`);
    let bytes: ArrayBufferView = data;
    if (dtype === 'f16' && data instanceof Float32Array) bytes = toF16Array(data);
    if (dtype === 'f16') check(bytes instanceof Uint16Array, 'upload: f16 tensors take Float32Array or Uint16Array bits');
    const byteLength = numel(shape) * DTYPE_BYTES[dtype];
    let t: GpuTensor;
    if (resident) {
      const buffer = this.device.createBuffer({
        size: Math.ceil(byteLength / 4) * 4,
        usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST,
      });
      this.residentBytes += buffer.size;
      t = new GpuTensor(buffer, shape, dtype, false);
    } else {
      t = this.alloc(shape, dtype);
    }
    // writeBuffer runs before any command recorded but not yet submitted: submit those first so a
    // recycled buffer is not overwritten under a pending reader.
    this.flush();
    const padded = byteLength % 4 === 0 ? bytes : padTo4(bytes);
    this.device.queue.writeBuffer(t.buffer, 0, padded.buffer, padded.byteOffset, Math.ceil(byteLength / 4) * 4);
    return t;
  }

  /** Frees a resident tensor's buffer now. */
  destroy(t: GpuTensor): void {
    if (t.pooled) { this.release(t); return; }
    // recorded, unsubmitted work may read it (load-time weight copies): buffers must live until submit
    if (this.encoder) this.flush();
    this.residentBytes -= t.buffer.size;
    this.bindGroups.forget(t.buffer);
    t.buffer.destroy();
  }

  /** Records one dispatch of `kernel`. Bindings are matched by name to the WGSL declarations. */
  dispatch(kernel: Kernel, bindings: Record<string, GpuTensor | GPUBuffer>, params: Record<string, number>,
           workgroups: readonly [number, number?, number?], opts: DispatchOptions = {}): void {
    const types: KernelTypes = { T: opts.types?.T ?? 'f32', W: opts.types?.W ?? 'f32' };
    if ((types.T === 'f16' || types.W === 'f16') && !this.hasF16) {
      throw new Error(`kernel ${kernel.name}: f16 requested but the adapter has no shader-f16`);
    }
    const [x, y = 1, z = 1] = workgroups;
    const maxWg = this.maxWorkgroups;
    if (!(x >= 1 && y >= 1 && z >= 1 && x <= maxWg && y <= maxWg && z <= maxWg)) {
      throw new Error(`kernel ${kernel.name}: dispatch size [${x}, ${y}, ${z}] outside 1..${maxWg}`);
    }
    const overrides = { ...kernel.overrides, ...opts.overrides };
    const { pipeline, layout, id } = this.pipelines.get(kernel, types, overrides);

    const arena = { buffer: this.uniformBuf, view: this.uniformView, offset: this.pending * this.uniformStride };
    const r = resolveBindings(kernel, bindings, params, arena, this.maxBinding);
    const bindGroup = this.bindGroups.get(id, layout, r.slots, r.buffers, r.sizes, r.offsets);
    this.counts.add(kernel.name, r.written);

    const encoder = (this.encoder ??= this.device.createCommandEncoder());
    let pass: GPUComputePassEncoder;
    if (this.timer) {
      if (this.timer.full) this.flush();
      const label = this.modulePath.join('.') || kernel.name;
      pass = (this.encoder ??= this.device.createCommandEncoder()).beginComputePass({
        timestampWrites: this.timer.next(label, kernel.name),
      });
    } else {
      pass = (this.pass ??= encoder.beginComputePass());
    }
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    if (this.timer) pass.end();
    if (++this.pending >= Math.min(this.submitEvery, MAX_PENDING)) this.flush();
  }

  /** Records a buffer copy (ends the open compute pass). */
  copy(src: GpuTensor, dst: GpuTensor, srcOffsetBytes = 0, dstOffsetBytes = 0, bytes = src.byteLength): void {
    this.endPass();
    if (dst.pooled) this.counts.add('copy', bytes);
    (this.encoder ??= this.device.createCommandEncoder()).copyBufferToBuffer(
      src.buffer, srcOffsetBytes, dst.buffer, dstOffsetBytes, Math.ceil(bytes / 4) * 4);
  }

  /** Submits everything recorded so far. */
  flush(): void {
    if (!this.encoder) return;
    this.endPass();
    if (this.pending > 0) this.device.queue.writeBuffer(this.uniformBuf, 0, this.uniformData, 0, this.pending * this.uniformStride);
    this.timer?.resolve(this.encoder);
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    this.pending = 0;
  }

  /** Waits for the GPU to finish all submitted work; throws any recorded WebGPU error. */
  async sync(): Promise<void> {
    this.flush();
    await this.awaitGpu(this.device.queue.onSubmittedWorkDone());
    await this.checkErrors();
  }

  /** Reads a tensor back as f32. */
  async read(t: GpuTensor): Promise<Float32Array> {
    const bytes = Math.ceil(t.byteLength / 4) * 4;
    const staging = this.device.createBuffer({ size: bytes, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
    this.endPass();
    (this.encoder ??= this.device.createCommandEncoder()).copyBufferToBuffer(t.buffer, 0, staging, 0, bytes);
    this.flush();
    await this.awaitGpu(staging.mapAsync(MapMode.READ));
    const raw = staging.getMappedRange().slice(0, t.byteLength);
    staging.unmap();
    staging.destroy();
    await this.checkErrors();
    return t.dtype === 'f16' ? fromF16Array(new Uint16Array(raw)) : new Float32Array(raw);
  }

  async checkErrors(): Promise<void> {
    const built = await Promise.all(this.pipelines.pending.splice(0));
    const errs = [...built.filter((e): e is string => e !== null), ...this.errors.splice(0)];
    if (this.lostReason) errs.unshift(this.lostReason);
    if (errs.length) throw new Error(errs.join('\n'));
  }

  /** Runs `fn` with a module-path label pushed (for per-module timings). */
  within<R>(name: string | number, fn: () => R): R {
    this.modulePath.push(String(name));
    try { return fn(); } finally { this.modulePath.pop(); }
  }

  /** Starts per-dispatch GPU timing (needs 'timestamp-query'). */
  startTiming(): void {
    check(this.hasTimestamps, 'timing needs the timestamp-query feature, which this adapter lacks');
    this.flush();
    this.timer ??= new GpuTimer(this.device);
  }

  async stopTiming(): Promise<TimedDispatch[]> {
    const timer = this.timer;
    if (!timer) return [];
    this.flush();
    this.timer = null;
    const out = await timer.collect();
    timer.destroy();
    return out;
  }

  private endPass(): void { this.pass?.end(); this.pass = null; }
}
