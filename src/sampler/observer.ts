// Watching a sampling run without steering it (ours). The loop calls an observer at named points
// (the golden files' names: step{s}.x, step{s}.k{k}.d, ..., result_latent) with the tensors live
// there. An observer only reads: it gets no way to hand anything back to the loop, and tensors it
// is shown stay the loop's (never freed or written by it). So the numerical path is the same with
// tracing on or off; with it off nothing is read back and nothing trace-only is computed.
import type { GpuTensor } from '../gpu/tensor.js';
import type { TraceFn } from './constraints/constraint.js';

/** What the loop reports to. Tracer (tracer.ts) records everything it is shown. */
export interface SamplerObserver {
  /** false: the loop skips the reports and the work done only for them (g_raw, g, delta) */
  readonly enabled: boolean;
  tensor(name: string, t: GpuTensor): Promise<void>;
  values(name: string, data: ArrayLike<number>, shape: number[]): Promise<void>;
}

/** An observer under a name prefix ("step3.k1"), as the loop and the inner methods use it. */
export class Observe {
  static readonly off = new Observe(null, '');

  private constructor(private readonly sink: SamplerObserver | null, private readonly prefix: string) {}

  static of(sink: SamplerObserver | undefined): Observe {
    return sink?.enabled ? new Observe(sink, '') : Observe.off;
  }

  get enabled(): boolean {
    return this.sink !== null;
  }

  /** the same observer one level down: at('k0') of "step2" names "step2.k0.*" */
  at(name: string): Observe {
    return this.sink ? new Observe(this.sink, this.name(name)) : this;
  }

  /** reports each tensor under its key, in key order: record({ eps_ddim: eps }) */
  async record(tensors: Record<string, GpuTensor>): Promise<void> {
    if (!this.sink) return;
    for (const [name, t] of Object.entries(tensors)) await this.sink.tensor(this.name(name), t);
  }

  async values(name: string, data: ArrayLike<number>, shape: number[]): Promise<void> {
    await this.sink?.values(this.name(name), data, shape);
  }

  /** the constraint's own hook (its intermediates under this prefix); undefined when off */
  get constraintTrace(): TraceFn | undefined {
    return this.sink ? (name, t) => this.sink!.tensor(this.name(name), t) : undefined;
  }

  private name(n: string): string {
    return this.prefix ? `${this.prefix}.${n}` : n;
  }
}
