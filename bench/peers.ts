// Peer benchmark (issue 14): Tether's UNet (and VAE decoder) forward against onnxruntime's WebGPU
// EPs on the same adapter and the same weights, with onnxruntime's CPU EP and PyTorch CPU as
// yardsticks, in one run. Rounds interleave the engines (in a rotating order) and each engine
// keeps its own timings, so load on this shared machine hits all of them alike; medians and
// minima are reported, with ratios (peer ms / Tether ms: > 1 means Tether is faster).
//   npm run bench:peers [-- --reps 9] [--batches 1,2] [--models fmnist_unet,golden_unet] [--vae]
//                       [--engines tether,ort-web,ort-node-webgpu,ort-node-cpu,torch]
// Every engine gets host arrays and returns a host array (upload and readback included; tiny
// here); PyTorch's time is its forward alone (train/peers.py serve). Each output is compared
// with Tether's (max abs error), so a fast but wrong engine shows. Weights: f32 everywhere.
// ONNX graphs (opset 17, dynamic batch) are exported from the same safetensors by
// train/peers.py into bench/peers/ (git-ignored) when missing or older than the weights.
// Writes bench/results/peers.json and the "Peers" section of bench/RESULTS.md.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { adapterName } from '../src/gpu/device.js';
import { createNodeGpuContext } from '../src/gpu/device_node.js';
import { Rng } from '../src/util/rng.js';
import { GOLDEN_ROOT } from '../test/modules/unet_synthetic.js';
import { ortNodeEngine, ortWebEngine, PYTHON, tetherEngine, torchEngines, torchMissing, type Engine, type Inputs, type PeerModel } from './peers_engines.js';
import { mdTable, writeJson, writeResultsSection } from './results_md.js';

const args = process.argv.slice(2);
const opt = (name: string, d: string) => { const i = args.indexOf(`--${name}`); return i >= 0 && args[i + 1] ? args[i + 1]! : d; };
const REPS = Number(opt('reps', '9'));
const BATCHES = opt('batches', '1,2').split(',').map(Number);
const ENGINES = opt('engines', 'tether,ort-web,ort-node-webgpu,ort-node-cpu,torch').split(',');
const OUT_DIR = 'bench/peers';
/** outputs farther than this from Tether's (relative to max |Tether|, at least 1) are marked wrong */
const TOL = 1e-3;

const MODELS: PeerModel[] = ([
  { id: 'fmnist_unet', label: 'embedded UNet (weights/fmnist, 1.5 M params)', kind: 'unet', root: 'weights/fmnist', latent: 8, onnx: '' },
  { id: 'golden_unet', label: 'tiny SD-1.4-topology UNet (golden, 3.2 M params)', kind: 'unet', root: GOLDEN_ROOT, latent: 16, onnx: '' },
  { id: 'fmnist_vae_decoder', label: 'embedded VAE decoder (latent 8 -> 32 px)', kind: 'vae_decoder', root: 'weights/fmnist', latent: 8, onnx: '' },
  { id: 'golden_vae_decoder', label: 'tiny SD-1.4-topology VAE decoder (latent 8 -> 64 px)', kind: 'vae_decoder', root: GOLDEN_ROOT, latent: 8, onnx: '' },
] as const).map((m) => ({ ...m, onnx: join(OUT_DIR, `${m.id}.onnx`) }));
const DEFAULT_MODELS = `fmnist_unet,golden_unet${args.includes('--vae') ? ',fmnist_vae_decoder,golden_vae_decoder' : ''}`;
const wanted = opt('models', DEFAULT_MODELS).split(',');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const weightsFile = (m: PeerModel) => join(m.root, m.kind === 'unet' ? 'unet' : 'vae', 'diffusion_pytorch_model.safetensors');

/** Exports m's ONNX graph when it is missing or older than its weights; the reason when it cannot be had. */
function ensureOnnx(m: PeerModel, noTorch: string | null): string | null {
  const fresh = existsSync(m.onnx) && statSync(m.onnx).mtimeMs >= statSync(weightsFile(m)).mtimeMs;
  if (fresh) return null;
  if (noTorch) return `no ${m.onnx} and no ONNX export: ${noTorch}`;
  console.log(`exporting ${m.onnx} (train/peers.py export) ...`);
  const r = spawnSync(PYTHON, ['train/peers.py', 'export', '--kind', m.kind, '--folder', join(m.root, m.kind === 'unet' ? 'unet' : 'vae'),
    '--out', m.onnx, '--latent', String(m.latent)], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });
  if (r.status !== 0) return `ONNX export failed: ${(r.stderr || '').trim().split('\n').slice(-3).join(' / ')}`;
  console.log(r.stdout.trim());
  return null;
}

function inputsFor(m: PeerModel, B: number): Inputs {
  const rng = new Rng(1000 + B);
  const L = m.latent;
  if (m.kind === 'vae_decoder') return { latent: { shape: [B, 4, L, L], data: rng.normals(B * 4 * L * L) } };
  const cfg = JSON.parse(readFileSync(join(m.root, 'unet', 'config.json'), 'utf8')) as { cross_attention_dim: number; in_channels: number };
  return {
    sample: { shape: [B, cfg.in_channels, L, L], data: rng.normals(B * cfg.in_channels * L * L) },
    timestep: { shape: [B], data: Float32Array.from({ length: B }, (_, i) => 981 - 40 * i) },
    encoder_hidden_states: { shape: [B, 77, cfg.cross_attention_dim], data: rng.normals(B * 77 * cfg.cross_attention_dim) },
  };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return Number.isNaN(m) ? Infinity : m;
}

interface Row {
  model: string; batch: number; engine: string; device: string; ms: number[]; median: number | null; min: number | null;
  /** peer ms / Tether ms: of the medians, of the minima, and paired per round (> 1: Tether faster) */
  tetherSpeedup: { median: number; min: number; paired: number | null } | null;
  maxAbsErrVsTether: number | null; wrong: boolean; error?: string;
}

async function makeEngines(ctx: Awaited<ReturnType<typeof createNodeGpuContext>>, noTorch: string | null): Promise<{ engines: Engine[]; skipped: string[] }> {
  const engines: Engine[] = [], skipped: string[] = [];
  const tryAdd = async (key: string, make: () => Promise<Engine | Engine[]>) => {
    if (!ENGINES.includes(key)) return;
    try { engines.push(...[await make()].flat()); } catch (e) { skipped.push(`${key}: ${(e as Error).message}`); }
  };
  await tryAdd('tether', async () => tetherEngine(ctx));
  await tryAdd('ort-web', ortWebEngine);
  await tryAdd('ort-node-webgpu', () => ortNodeEngine('webgpu'));
  await tryAdd('ort-node-cpu', () => ortNodeEngine('cpu'));
  if (ENGINES.includes('torch')) {
    if (noTorch) skipped.push(`torch: ${noTorch}`);
    else await tryAdd('torch', async () => torchEngines());
  }
  return { engines, skipped };
}

async function benchModel(m: PeerModel, engines: Engine[], onnxProblem: string | null): Promise<Row[]> {
  const rows: Row[] = [];
  const usable: Engine[] = [];
  const failed = new Map<Engine, string>();
  for (const e of engines) {
    if (onnxProblem && e.name.startsWith('onnxruntime')) { failed.set(e, onnxProblem); continue; }
    try { await e.load(m); usable.push(e); } catch (err) { failed.set(e, `load: ${(err as Error).message}`); }
  }
  for (const B of BATCHES) {
    const inp = inputsFor(m, B);
    const outs = new Map<Engine, Float32Array>();
    const ms = new Map<Engine, number[]>();
    const live = usable.filter((e) => !failed.has(e));
    for (const e of live) {
      const t0 = performance.now();
      try {
        const r = e.warm ? await e.warm(m, inp) : (await e.run(m, inp), await e.run(m, inp));
        outs.set(e, r.output);
        ms.set(e, []);
        console.log(`  ${m.id} B${B} ${e.name}: warm-up ${((performance.now() - t0) / 1e3).toFixed(1)} s`);
      } catch (err) { failed.set(e, `warm-up: ${(err as Error).message}`); }
    }
    const timed = live.filter((e) => !failed.has(e));
    for (let r = 0; r < REPS; r++) {
      for (let i = 0; i < timed.length; i++) {
        const e = timed[(i + r) % timed.length]!;
        if (failed.has(e)) continue;
        try { ms.get(e)!.push((await e.run(m, inp)).ms); } catch (err) { failed.set(e, `run: ${(err as Error).message}`); }
      }
    }
    const tether = engines.find((e) => e.name.startsWith('Tether'));
    const tRef = tether && outs.get(tether);
    const tMs = tether && ms.get(tether)?.length ? ms.get(tether)! : null;
    for (const e of engines) {
      const t = ms.get(e) ?? [];
      const out = outs.get(e);
      const err = tRef && out ? maxAbsDiff(out, tRef) : null;
      const scale = tRef ? Math.max(1, ...Array.from(tRef, Math.abs)) : 1;
      const ok = t.length > 0 && !failed.has(e);
      rows.push({
        model: m.id, batch: B, engine: e.name, device: e.device, ms: t,
        median: ok ? median(t) : null, min: ok ? Math.min(...t) : null,
        tetherSpeedup: ok && tMs ? { median: median(t) / median(tMs), min: Math.min(...t) / Math.min(...tMs), paired: pairedRatio(t, tMs) } : null,
        maxAbsErrVsTether: err, wrong: err !== null && !(err <= TOL * scale), error: failed.get(e),
      });
    }
  }
  return rows;
}

/**
 * Median over rounds of peer ms / Tether ms within the round (both ran in it, one after the other): load that
 * drifts over the run (this machine's cores are shared) cancels, where the ratio of two medians
 * taken over the whole run keeps it. null when a run failed and the rounds no longer pair up.
 */
function pairedRatio(peer: number[], tether: number[]): number | null {
  if (peer.length !== tether.length || peer.length === 0) return null;
  return median(peer.map((p, i) => p / tether[i]!));
}

const f1 = (x: number | null) => (x === null ? 'n/a' : x.toFixed(1));
const f2 = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : x.toFixed(2));

function tableOf(rows: Row[]): string {
  const tether = (r: Row) => r.engine.startsWith('Tether');
  return mdTable(['model', 'batch', 'engine', 'ms (median)', 'ms (min)', 'Tether faster (median)', 'Tether faster (min)', 'Tether faster (paired)', 'max abs err vs Tether'],
    rows.map((r) => [r.model, r.batch, r.engine, r.error ? `failed: ${r.error.slice(0, 120)}` : f1(r.median), f1(r.min),
      tether(r) ? '1.00' : f2(r.tetherSpeedup?.median), tether(r) ? '1.00' : f2(r.tetherSpeedup?.min), tether(r) ? '1.00' : f2(r.tetherSpeedup?.paired),
      r.maxAbsErrVsTether === null ? 'n/a' : `${r.maxAbsErrVsTether.toExponential(1)}${r.wrong ? ' **WRONG**' : ''}`]));
}

async function main(): Promise<void> {
  const load0 = loadavg()[0]!;
  const ctx = await createNodeGpuContext();
  const adapter = adapterName(ctx.adapter);
  const noTorch = torchMissing();
  if (noTorch) console.log(`note: ${noTorch}`);
  const models = MODELS.filter((m) => wanted.includes(m.id) && existsSync(weightsFile(m)));
  for (const id of wanted) if (!models.some((m) => m.id === id)) console.log(`model ${id} skipped: unknown, or its weights are not here`);
  const { engines, skipped } = await makeEngines(ctx, noTorch);
  for (const s of skipped) console.log(`engine skipped: ${s}`);
  console.log(`adapter: ${adapter}; ${cpus().length} CPUs, load average ${load0.toFixed(1)}; reps ${REPS}; engines: ${engines.map((e) => e.name).join(', ')}`);

  const rows: Row[] = [];
  const onnxNotes: Record<string, string | null> = {};
  for (const m of models) {
    onnxNotes[m.id] = ensureOnnx(m, noTorch);
    if (onnxNotes[m.id]) console.log(`${m.id}: onnxruntime engines skipped: ${onnxNotes[m.id]}`);
    console.log(`\n${m.label}`);
    const r = await benchModel(m, engines, onnxNotes[m.id] ?? null);
    rows.push(...r);
    console.log(tableOf(r));
  }
  for (const e of engines) e.close?.();
  const load1 = loadavg()[0]!;
  const date = new Date().toISOString();
  writeJson('bench/results/peers.json', {
    adapter, cpus: cpus().length, loadAverage: { start: load0, end: load1 }, reps: REPS, date, node: process.version,
    tolerance: `max abs err <= ${TOL} x max(1, max |Tether output|)`, engines: engines.map((e) => e.name), skipped,
    models: models.map((m) => ({ id: m.id, label: m.label, kind: m.kind, latent: m.latent, weights: weightsFile(m), onnx: m.onnx, onnxProblem: onnxNotes[m.id] })),
    rows,
  });
  const cmd = `npm run bench:peers${args.length ? ` -- ${args.join(' ')}` : ''}`;
  const body = [
    `Adapter: **${adapter}** (Tether and onnxruntime-web share the \`webgpu\` package's Dawn; onnxruntime-node's WebGPU EP uses its own Dawn build, ` +
    `on the same Vulkan device). Command: \`${cmd}\`. ${date.slice(0, 10)}; ${cpus().length} CPUs, load average ${load0.toFixed(1)} at the start and ` +
    `${load1.toFixed(1)} at the end (a shared machine). ${REPS} interleaved rounds after each engine's warm-up; median and minimum per engine. ` +
    '"Tether faster" = peer ms / Tether ms in the same run (> 1: Tether is faster): of the medians, of the minima, and "paired": the median ' +
    'over rounds of the ratio within a round (each engine runs once per round, one after the other, so load drifting over the run cancels). Host arrays in and out for every engine; ' +
    'PyTorch times its forward alone; idle thread pools sleep instead of spinning (onnxruntime allow_spinning 0, OMP_WAIT_POLICY=PASSIVE). f32 weights everywhere; the ONNX graphs are exported from the same safetensors by train/peers.py ' +
    `(opset 17, dynamic batch). An output farther than ${TOL} x max(1, max |Tether|) from Tether's is marked WRONG.`,
    ...(skipped.length ? ['', `Skipped: ${skipped.join('; ')}.`] : []),
    ...models.map((m) => `\n### ${m.label}\n\n${tableOf(rows.filter((r) => r.model === m.id))}`),
  ].join('\n');
  writeResultsSection('Peers', body);
  console.log('\nwrote bench/results/peers.json and the Peers section of bench/RESULTS.md');
  process.exit(0);
}

main().catch((e) => { console.error(e); process.exit(1); });
