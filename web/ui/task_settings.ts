// The task buttons and the settings controls, rendered from the task table
// (src/pipeline/task_registry.ts): each control's default and limits come from TASKS / LIMITS, and
// which rows a task shows from its `needs` and `extra`. A task switch resets only the settings
// whose defaults differ between tasks (steps, K and K auto, learning rate, method, guidance), so a typed
// seed survives it.
import { LIMITS, TASKS, type TaskDefaults } from '../../src/pipeline/task_registry.js';
import { takesStyle, TASK_LABELS, type WebTask } from '../task_spec.js';
import { el } from './elements.js';
import { applySize } from './image_input.js';
import { page } from './state.js';

type Control = HTMLInputElement | HTMLSelectElement;

/** The control of each table setting (cfgForm has none: the page uses the table's). */
const control = (): Partial<Record<keyof TaskDefaults | 'scale' | 'blurSigma' | 'inpaintSpace', Control>> => ({
  steps: el.steps, K: el.K, innerStop: el.autoK, lr: el.lr, h: el.h, schedule: el.schedule, method: el.method, guidance: el.guidance,
  scale: el.scale, blurSigma: el.sigma, inpaintSpace: el.inpaintSpace,
});

export function lrText(lr: number | [number, number]): string { return Array.isArray(lr) ? lr.join(':') : String(lr); }

export function parseLr(v: string): number | [number, number] {
  const parts = v.split(':').map((s) => Number(s.trim()));
  if (parts.length === 1 && parts[0]! > 0) return parts[0]!;
  if (parts.length === 2 && parts[0]! > 0 && parts[1]! > 0) return [parts[0]!, parts[1]!];
  throw new Error(`Learning rate must be a positive number or 'from:to' (got '${v}').`);
}

function setControl(c: Control | undefined, v: unknown): void {
  if (c instanceof HTMLInputElement && c.type === 'checkbox') c.checked = v === 'auto';   // innerStop: the K auto box
  else if (c) c.value = Array.isArray(v) ? lrText(v as [number, number]) : String(v);
}

/** The settings whose default is not the same for every task. */
const perTask = (Object.keys(TASKS.generate.defaults) as (keyof TaskDefaults)[])
  .filter((k) => new Set(Object.values(TASKS).map((t) => JSON.stringify(t.defaults[k]))).size > 1);

/** Every control's default and limits from the table, once at start. */
function initControls(): void {
  const c = control();
  for (const [k, v] of Object.entries(TASKS[page.task].defaults)) setControl(c[k as keyof TaskDefaults], v);
  // a task-specific option belongs to one task: its default is that task's
  for (const t of Object.values(TASKS)) for (const [k, v] of Object.entries(t.extra)) setControl(c[k as 'scale'], v);
  const range = (i: HTMLInputElement, [min, max]: readonly [number, number]) => { i.min = String(min); i.max = String(max); };
  range(el.steps, LIMITS.steps); range(el.K, LIMITS.K); range(el.guidance, LIMITS.guidance); range(el.seed, LIMITS.seed);
  el.sigma.max = String(LIMITS.blurSigmaMax);
}

/** K (and its auto box) mean nothing for the methods without inner steps. */
function noInnerSteps(): void {
  el.K.disabled = el.autoK.disabled = el.method.value === 'none' || el.method.value === 'replace';
}

export function selectTask(t: WebTask): void {
  page.task = t;
  for (const b of el.tasks.querySelectorAll<HTMLButtonElement>('.seg')) {
    const on = b.dataset['task'] === t;
    b.classList.toggle('on', on);
    b.setAttribute('aria-checked', String(on));
  }
  const def = TASKS[t], c = control();
  for (const k of perTask) setControl(c[k], def.defaults[k]);
  el.scaleRow.hidden = !('scale' in def.extra);
  el.sigmaRow.hidden = !('blurSigma' in def.extra);
  el.inpaintSpaceRow.hidden = !('inpaintSpace' in def.extra);
  el.inputCard.hidden = !def.needs.image;
  el.maskTools.hidden = !def.needs.mask;
  el.maskCanvas.hidden = !def.needs.mask;
  el.sizeRow.hidden = !def.needs.size;                  // the other tasks work at their input image's size
  noInnerSteps();
  el.prompt.placeholder = def.needs.image ? 'optional, e.g. a coat' : 'e.g. a coat';
  el.styleCard.hidden = !takesStyle(t);
  el.styleToggleRow.hidden = def.needs.styleImage !== 'optional';   // 'required': always uses the reference
  el.styleWeightRow.hidden = def.needs.styleImage !== 'optional';   // the weight only matters against another constraint
  applySize();
}

export function initTaskSettings(): void {
  for (const t of Object.keys(TASK_LABELS) as WebTask[]) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'seg';
    b.dataset['task'] = t;
    b.textContent = TASK_LABELS[t];
    b.setAttribute('role', 'radio');
    b.onclick = () => selectTask(t);
    el.tasks.append(b);
  }
  initControls();
  el.method.onchange = noInnerSteps;
  el.dice.onclick = () => { el.seed.value = String(Math.floor(Math.random() * 2 ** 31)); };
}
