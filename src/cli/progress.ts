// The CLI's progress bar: diffusion steps with ETA and UNet evaluations per second.
import { SingleBar } from 'cli-progress';
import type { Progress } from '../sampler/constrained_sampler.js';

export function progressBar(label: string, quiet: boolean): { update(p: Progress): void; stop(): void } {
  if (quiet || !process.stderr.isTTY) {
    let last = 0;
    return {
      update(p) {
        if (quiet || Date.now() - last < 2000 && p.step < p.steps) return;
        last = Date.now();
        process.stderr.write(`${label}: step ${p.step}/${p.steps}, ${p.evals} UNet evals, ${(p.evals / (p.elapsedMs / 1000)).toFixed(2)} evals/s\n`);
      },
      stop() {},
    };
  }
  const bar = new SingleBar({
    format: `${label} [{bar}] {value}/{total} steps | ETA {eta_formatted} | {evals} UNet evals, {rate} evals/s`,
    stream: process.stderr, hideCursor: true, barsize: 30,
  });
  let started = false;
  return {
    update(p) {
      if (!started) { bar.start(p.steps, 0, { evals: 0, rate: '0.00' }); started = true; }
      bar.update(p.step, { evals: p.evals, rate: (p.evals / Math.max(p.elapsedMs / 1000, 1e-3)).toFixed(2) });
    },
    stop() { if (started) bar.stop(); },
  };
}
