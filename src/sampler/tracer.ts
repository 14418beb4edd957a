// Records a sampling run stage by stage under the golden files' names (step{s}.x, step{s}.k{k}.g,
// result_latent, ...), so a run can be compared with another implementation. Reading tensors
// back costs a GPU sync each, so tracing is off unless asked for.
import type { GpuContext } from '../gpu/context.js';
import type { GpuTensor } from '../gpu/tensor.js';

export interface TracedTensor { shape: number[]; data: Float32Array }

export class Tracer {
  static readonly off = new Tracer(null);
  readonly tensors = new Map<string, TracedTensor>();

  constructor(private readonly ctx: GpuContext | null, private readonly filter?: (name: string) => boolean) {}

  get enabled(): boolean {
    return this.ctx !== null;
  }

  async tensor(name: string, t: GpuTensor): Promise<void> {
    if (!this.ctx || (this.filter && !this.filter(name))) return;
    this.tensors.set(name, { shape: [...t.shape], data: await this.ctx.read(t) });
  }

  async values(name: string, data: ArrayLike<number>, shape: number[]): Promise<void> {
    if (!this.ctx || (this.filter && !this.filter(name))) return;
    this.tensors.set(name, { shape, data: Float32Array.from(data) });
  }
}
