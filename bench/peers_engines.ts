// The engines bench/peers.ts compares, behind one interface: host arrays in, host array out, each
// engine timing its own forward. Tether (WebGPU), onnxruntime-web's WebGPU EP in Node (navigator.gpu
// from the `webgpu` package, the same Dawn instance and adapter as Tether), onnxruntime-node's
// WebGPU EP (its own Dawn build) and CPU EP, and PyTorch CPU through train/peers.py serve.
// onnxruntime packages are devDependencies, imported only here: Tether itself never loads them.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { GpuContext } from '../src/gpu/context.js';
import { nodeGpu } from '../src/gpu/device_node.js';
import type { GpuTensor } from '../src/gpu/tensor.js';
import { settleVariants } from '../src/kernels/select_variant.js';
import { UNet2DConditionModel } from '../src/unet/unet_2d_condition.js';
import { AutoencoderKL } from '../src/vae/autoencoder_kl.js';
import { parseVaeConfig } from '../src/vae/config.js';
import { loadComponentWeights } from '../src/weights/model_source.js';
import { nodeModelFiles } from '../src/weights/model_source_node.js';

export interface PeerModel {
  id: string; label: string; kind: 'unet' | 'vae_decoder';
  /** pipeline folder holding unet/ or vae/ */
  root: string;
  /** latent side (the ONNX graphs are traced at it; only the batch axis is dynamic) */
  latent: number;
  onnx: string;
}
export type Inputs = Record<string, { shape: number[]; data: Float32Array }>;
export interface RunResult { ms: number; output: Float32Array }

export interface Engine {
  name: string;
  /** 'webgpu' engines run on an adapter, 'cpu' ones are the yardsticks */
  device: 'webgpu' | 'cpu';
  load(m: PeerModel): Promise<void>;
  /** warm-up before timing (shader compilation, Tether's variant measurement); default: two runs */
  warm?(m: PeerModel, inp: Inputs): Promise<RunResult>;
  run(m: PeerModel, inp: Inputs): Promise<RunResult>;
  close?(): void;
}

const component = (m: PeerModel) => (m.kind === 'unet' ? 'unet' : 'vae');

export function tetherEngine(ctx: GpuContext): Engine {
  const unets = new Map<string, UNet2DConditionModel>();
  const vaes = new Map<string, AutoencoderKL>();
  const forward = (m: PeerModel, inp: Inputs): GpuTensor[] => {
    const up = (n: string) => ctx.upload(inp[n]!.data, inp[n]!.shape);
    if (m.kind === 'unet') {
      const x = up('sample'), e = up('encoder_hidden_states');
      return [unets.get(m.id)!.forward(ctx, x, [...inp.timestep!.data], e), x, e];
    }
    const z = up('latent');
    return [vaes.get(m.id)!.decode(ctx, z), z];
  };
  const engine: Engine = {
    name: 'Tether (WebGPU)', device: 'webgpu',
    async load(m) {
      const w = await loadComponentWeights(nodeModelFiles(m.root), component(m));
      const cfg = readFileSync(join(m.root, component(m), 'config.json'), 'utf8');
      if (m.kind === 'unet') unets.set(m.id, await UNet2DConditionModel.load(ctx, w, cfg, { weightDtype: 'f32' }));
      else vaes.set(m.id, await AutoencoderKL.load(ctx, w, parseVaeConfig(cfg), { weightDtype: 'f32' }));
      await w.close();
    },
    async run(m, inp) {
      const t0 = performance.now();
      const [y, ...ins] = forward(m, inp);
      const output = await ctx.read(y!);
      const ms = performance.now() - t0;
      ctx.release(y, ...ins);
      return { ms, output };
    },
    async warm(m, inp) {
      await engine.run(m, inp);
      await settleVariants(ctx); // kernel variants of new shape classes are measured, then fixed
      return engine.run(m, inp);
    },
  };
  return engine;
}

type Ort = typeof import('onnxruntime-node');

function ortEngine(name: string, device: Engine['device'], ort: Ort, opts: Record<string, unknown>,
                   bytes: boolean): Engine {
  const sessions = new Map<string, Awaited<ReturnType<Ort['InferenceSession']['create']>>>();
  return {
    name, device,
    async load(m) {
      const src = bytes ? new Uint8Array(readFileSync(m.onnx)) : m.onnx;
      sessions.set(m.id, await ort.InferenceSession.create(src as string, opts));
    },
    async run(m, inp) {
      const feeds: Record<string, InstanceType<Ort['Tensor']>> = {};
      for (const [k, v] of Object.entries(inp)) feeds[k] = new ort.Tensor('float32', v.data, v.shape);
      const t0 = performance.now();
      const r = await sessions.get(m.id)!.run(feeds);
      const output = (await r.out!.getData()) as Float32Array;
      return { ms: performance.now() - t0, output: new Float32Array(output) };
    },
    close() { for (const s of sessions.values()) void s.release(); },
  };
}

/**
 * Idle worker threads must sleep, not spin: rounds interleave the engines on 2 shared cores, and a
 * thread pool still spinning after its run (onnxruntime's default, OpenMP's too) slows whichever
 * engine runs next (PyTorch at 2 threads measured 5-10x slower beside spinning onnxruntime threads).
 */
const NO_SPIN = { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } };

/** onnxruntime-node: its WebGPU EP (own Dawn) or its CPU EP on every core. */
export async function ortNodeEngine(ep: 'webgpu' | 'cpu'): Promise<Engine> {
  const ort = await import('onnxruntime-node');
  const threads = cpus().length;
  const opts = ep === 'cpu'
    ? { executionProviders: ['cpu'], intraOpNumThreads: threads, logSeverityLevel: 3, extra: NO_SPIN }
    : { executionProviders: ['webgpu'], logSeverityLevel: 3, extra: NO_SPIN };
  return ortEngine(ep === 'cpu' ? `onnxruntime-node CPU EP (${threads} threads)` : 'onnxruntime-node WebGPU EP', ep === 'cpu' ? 'cpu' : 'webgpu', ort, opts, false);
}

/**
 * onnxruntime-web's WebGPU EP in Node: navigator.gpu is the `webgpu` package's GPU (Tether's own
 * Dawn instance). Its wasm heap is a SharedArrayBuffer, which Dawn's writeBuffer refuses
 * ("Invalid argument"), so views of shared memory are copied first (Tether never passes one).
 */
export async function ortWebEngine(): Promise<Engine> {
  const gpu = nodeGpu();
  const q = (globalThis as unknown as { GPUQueue: { prototype: GPUQueue } }).GPUQueue.prototype;
  const writeBuffer = q.writeBuffer;
  q.writeBuffer = function (this: GPUQueue, b: GPUBuffer, o: number, d: BufferSource, dOff?: number, size?: number) {
    const data = ArrayBuffer.isView(d) && d.buffer instanceof SharedArrayBuffer ? (d as Uint8Array).slice() : d;
    return writeBuffer.call(this, b, o, data as BufferSource, dOff, size);
  } as GPUQueue['writeBuffer'];
  if (!(globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu) {
    Object.defineProperty(globalThis, 'navigator', { value: { gpu, userAgent: 'node' }, configurable: true });
  }
  const ort = (await import('onnxruntime-web/webgpu')) as unknown as Ort & { env: { wasm: { numThreads: number } } };
  ort.env.wasm.numThreads = 1; // the wasm side only runs shape ops; worker threads add nothing here
  return ortEngine('onnxruntime-web WebGPU EP (Node, Dawn)', 'webgpu', ort, { executionProviders: ['webgpu'], logSeverityLevel: 3, extra: NO_SPIN }, true);
}

export const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';

/** null when PyTorch is importable, else the reason (printed as the skip message). */
export function torchMissing(): string | null {
  const r = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  if (r.status === 0) return null;
  return `PyTorch is not importable by ${PYTHON} (${(r.stderr || String(r.error ?? '')).trim().split('\n').pop()}). ` +
    'The PyTorch CPU engines and the ONNX export need it: on Debian, apt-get install -y python3-torch ' +
    '(or set PYTHON to an interpreter that has torch).';
}

/** One `train/peers.py serve` process shared by the PyTorch engines (requests one at a time). */
class TorchWorker {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly replies: ((line: string) => void)[] = [];
  private readonly loaded = new Set<string>();
  constructor() {
    this.proc = spawn(PYTHON, ['train/peers.py', 'serve'], {
      env: { ...process.env, OMP_NUM_THREADS: String(cpus().length), OMP_WAIT_POLICY: 'PASSIVE' },
    });
    this.proc.stderr.on('data', (d) => process.stderr.write(`[torch] ${d}`));
    createInterface({ input: this.proc.stdout }).on('line', (l) => this.replies.shift()?.(l));
  }
  request(req: object): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      this.replies.push((l) => { const r = JSON.parse(l) as Record<string, unknown>; r.error ? reject(new Error(String(r.error))) : resolve(r); });
      this.proc.stdin.write(`${JSON.stringify(req)}\n`);
    });
  }
  async load(m: PeerModel): Promise<void> {
    if (this.loaded.has(m.id)) return;
    await this.request({ op: 'load', id: m.id, kind: m.kind, folder: join(m.root, component(m)) });
    this.loaded.add(m.id);
  }
  close(): void { this.proc.stdin.end(); }
}

export function torchEngines(): Engine[] {
  const worker = new TorchWorker();
  const all = cpus().length;
  return [1, all].map((threads) => ({
    name: `PyTorch CPU (${threads} thread${threads > 1 ? 's' : ''})`, device: 'cpu' as const,
    load: (m: PeerModel) => worker.load(m),
    async run(m: PeerModel, inp: Inputs) {
      const inputs = Object.fromEntries(Object.entries(inp).map(([k, v]) => [k, { shape: v.shape, data: [...v.data] }]));
      const r = await worker.request({ op: 'run', id: m.id, threads, inputs, want_output: true });
      return { ms: r.ms as number, output: Float32Array.from(r.output as number[]) };
    },
    close: threads === all ? () => worker.close() : undefined,
  }));
}
