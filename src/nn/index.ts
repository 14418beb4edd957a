// Thin modules over kernels. Each is built by naming: `await X.load(ctx, w.at('key'), ...dims, opts)`
// reads and uploads its own tensors; `forward(ctx, x, ...)` records dispatches; `destroy(ctx)`
// frees its weights. Fields are the checkpoint key segments.
export { Attention, type AttentionOptions } from './attention.js';
export { Conv2d, type Conv2dOptions } from './conv2d.js';
export { GroupNorm, type GroupNormOptions } from './group_norm.js';
export { LayerNorm, type LayerNormOptions } from './layer_norm.js';
export { Linear, type LinearOptions } from './linear.js';
export { destroyParams, loadModel, loadParam, ParamArena, weightDtypeOf, type ParamOptions } from './param.js';
