// LayerNorm over the last dim (torch.nn.LayerNorm, biased variance): transformer blocks, CLIP.
// A team of TEAM invocations per row, WG/TEAM rows per workgroup; vec4 loads when C % 4 == 0.
// Team and workgroup sizes per adapter kind, measured on lavapipe ([2,4096,320]: one row per
// 64-wide workgroup 280 ms, teams of 4 in 64: 40-70 ms, under load); the hardware values
// (a 32-wide team, 4 rows per workgroup) follow the usual warp-per-row layout, unmeasured here.
import type { GpuContext } from '../gpu/context.js';
import { defineKernel } from '../gpu/kernel.js';
import { check, GpuTensor, shapeStr } from '../gpu/tensor.js';
import { grid1d } from './grid.js';
import { wgsl } from './wgsl.gen.js';

export const layerNormKernel = defineKernel({ name: 'layer_norm', source: wgsl.layer_norm, overrides: { WG: 128, TEAM: 32 } });
export const layerNormVec4Kernel = defineKernel({ name: 'layer_norm_vec4', source: wgsl.layer_norm_vec4, overrides: { WG: 128, TEAM: 32 } });

/** Workgroup and team sizes: { WG, TEAM } for CPU adapters (lavapipe, SwiftShader) or GPUs. */
export function layerNormSizes(cpuAdapter: boolean): { WG: number; TEAM: number } {
  return cpuAdapter ? { WG: 64, TEAM: 4 } : { WG: 128, TEAM: 32 };
}

/** Test and bench knobs: force the scalar kernel or other team sizes. */
export interface LayerNormTuning { scalar?: boolean; WG?: number; TEAM?: number }

/** x: [..., C], gamma/beta: [C] (dtype W) -> [..., C] (dtype of x) */
export function layerNorm(ctx: GpuContext, x: GpuTensor, gamma: GpuTensor, beta: GpuTensor, eps = 1e-5,
                          tuning: LayerNormTuning = {}): GpuTensor {
  check(x.shape.length >= 1, 'layer_norm: x must have at least one dim');
  const C = x.shape[x.shape.length - 1];
  const rows = x.size / C;
  check(gamma.size === C && beta.size === C, `layer_norm: gamma ${shapeStr(gamma.shape)} / beta ${shapeStr(beta.shape)} must have C=${C} values`);
  check(gamma.dtype === beta.dtype, `layer_norm: gamma is ${gamma.dtype} but beta is ${beta.dtype}`);
  check(eps > 0, `layer_norm: eps must be > 0 (got ${eps})`);
  const y = ctx.alloc(x.shape, x.dtype);
  const dflt = layerNormSizes(ctx.adapter.isFallbackAdapter);
  const sizes = { WG: tuning.WG ?? dflt.WG, TEAM: tuning.TEAM ?? dflt.TEAM };
  const pow2 = (v: number) => Number.isInteger(v) && v > 0 && (v & (v - 1)) === 0;
  check(pow2(sizes.WG) && pow2(sizes.TEAM) && sizes.TEAM <= sizes.WG, `layer_norm: WG=${sizes.WG} and TEAM=${sizes.TEAM} must be powers of two, TEAM <= WG`);
  const g = grid1d(rows, sizes.WG / sizes.TEAM);
  ctx.dispatch(C % 4 === 0 && !tuning.scalar ? layerNormVec4Kernel : layerNormKernel, { x, gamma, beta, y },
    { rows, C, eps, row_stride: g.rowStride }, g.workgroups, { types: { T: x.dtype, W: gamma.dtype }, overrides: sizes });
  return y;
}
