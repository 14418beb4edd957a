// The page: model picking, task settings, the input image with a mask brush, the style reference
// and CLIP weights of style guidance, progress with intermediate previews, and the result as a
// PNG. The engine runs in engine_worker.ts; the UI modules in ui/ build the request and draw, with
// their shared state in ui/state.ts (window.__tether: state and raw results, for tests and the
// console). This file only wires them together and starts the engine.
import { TASKS } from '../src/pipeline/task_registry.js';
import type { WebTask } from './task_spec.js';
import { send, startEngine } from './ui/engine.js';
import { initImageInput } from './ui/image_input.js';
import { initMaskBrush } from './ui/mask_brush.js';
import { initMessages } from './ui/messages.js';
import { initModels, loadModel } from './ui/models.js';
import { buildSpec, initRun } from './ui/run.js';
import { page, state } from './ui/state.js';
import { initStyle, loadClip } from './ui/style.js';
import { initTaskSettings, selectTask } from './ui/task_settings.js';

state.loadClip = loadClip;
state.specNow = buildSpec;
state.loseDevice = () => send({ type: 'lose-device' });
state.loadModel = loadModel;

initMessages();
initModels();
initTaskSettings();
initImageInput();
initMaskBrush();
initStyle();
initRun();

const asked = page.query.get('task');
selectTask(asked !== null && asked in TASKS ? asked as WebTask : 'inpaint');
startEngine();
