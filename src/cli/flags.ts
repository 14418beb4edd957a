// The CLI's names for request fields: the task table (src/pipeline/task_registry.ts) names its
// problems by field, and the CLI prints them with the flag the user typed.
import type { Problem } from '../pipeline/task_registry.js';

export const FLAG_OF: Record<string, string> = {
  steps: '--steps', K: '--K', lr: '--lr', h: '--h', schedule: '--schedule', method: '--method', guidance: '--guidance', cfgForm: '--cfg-form',
  seed: '--seed', image: '-i/--image', mask: '--mask', inpaintSpace: '--inpaint-space', pullBack: '--pull-back', feather: '--feather', scale: '--scale',
  downscaleKernel: '--kernel', blurSigma: '--sigma', width: '--width', height: '--height', styleImage: '--style-image',
  styleWeight: '--style-weight', count: '--count',
};

/** A problem with the CLI's flag names put where the table names fields ({steps} -> --steps). */
export function problemText(p: Problem): string {
  return p.template.replace(/\{(\w+)\}/g, (_, f: string) => FLAG_OF[f] ?? f);
}
