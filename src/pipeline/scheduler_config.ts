// scheduler/scheduler_config.json of a diffusers SD folder. Tether's samplers implement the SD 1.x
// training schedule (scaled_linear 0.00085 -> 0.012 over 1000 steps, epsilon prediction), so the
// config is checked against it: a model trained on another schedule (v-prediction, other betas)
// must not be run silently with the wrong one. Values: sd14_configs/scheduler/scheduler_config.json.

export interface SchedulerConfig {
  className: string;
  numTrainTimesteps: number;
  betaStart: number;
  betaEnd: number;
  betaSchedule: string;
  predictionType: string;
  setAlphaToOne: boolean;
  stepsOffset: number;
  clipSample: boolean;
  timestepSpacing: string;
}

export const SD14_SCHEDULER: SchedulerConfig = {
  className: 'PNDMScheduler', numTrainTimesteps: 1000, betaStart: 0.00085, betaEnd: 0.012, betaSchedule: 'scaled_linear',
  predictionType: 'epsilon', setAlphaToOne: false, stepsOffset: 1, clipSample: false, timestepSpacing: 'leading',
};

export function parseSchedulerConfig(text: string, name = 'scheduler/scheduler_config.json'): SchedulerConfig {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${name}: invalid JSON (${(e as Error).message})`);
  }
  if (typeof j !== 'object' || j === null) throw new Error(`${name}: not a JSON object`);
  const pick = <T>(key: string, fallback: T): T => (j[key] === undefined || j[key] === null ? fallback : (j[key] as T));
  const cfg: SchedulerConfig = {
    className: pick('_class_name', SD14_SCHEDULER.className),
    numTrainTimesteps: pick('num_train_timesteps', 1000),
    betaStart: pick('beta_start', 0.0001),
    betaEnd: pick('beta_end', 0.02),
    betaSchedule: pick('beta_schedule', 'linear'),
    predictionType: pick('prediction_type', 'epsilon'),
    setAlphaToOne: pick('set_alpha_to_one', false),
    stepsOffset: pick('steps_offset', 0),
    clipSample: pick('clip_sample', false),
    timestepSpacing: pick('timestep_spacing', 'leading'),
  };
  const bad: string[] = [];
  if (cfg.numTrainTimesteps !== 1000) bad.push(`num_train_timesteps ${cfg.numTrainTimesteps} (need 1000)`);
  if (cfg.betaSchedule !== 'scaled_linear') bad.push(`beta_schedule "${cfg.betaSchedule}" (need "scaled_linear")`);
  if (Math.abs(cfg.betaStart - 0.00085) > 1e-9 || Math.abs(cfg.betaEnd - 0.012) > 1e-9) {
    bad.push(`beta_start/beta_end ${cfg.betaStart}/${cfg.betaEnd} (need 0.00085/0.012)`);
  }
  if (cfg.predictionType !== 'epsilon') bad.push(`prediction_type "${cfg.predictionType}" (need "epsilon")`);
  if (j['trained_betas'] !== undefined && j['trained_betas'] !== null) bad.push('trained_betas (not supported)');
  if (bad.length) throw new Error(`${name}: this model's noise schedule is not SD 1.x's: ${bad.join('; ')}`);
  return cfg;
}
