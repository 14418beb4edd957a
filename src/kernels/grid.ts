// Dispatch-size helpers: fold a 1-D count of workgroups into a 2-D grid under the per-dimension
// limit (65535 on every adapter we know), so large tensors never exceed it.
export const MAX_WG_PER_DIM = 65535;

export interface Grid1D { workgroups: [number, number]; rowStride: number }

export function grid1d(items: number, perWorkgroup: number): Grid1D {
  const total = Math.max(1, Math.ceil(items / perWorkgroup));
  if (total <= MAX_WG_PER_DIM) return { workgroups: [total, 1], rowStride: total };
  const rows = Math.ceil(total / MAX_WG_PER_DIM);
  const rowStride = Math.ceil(total / rows);
  return { workgroups: [rowStride, rows], rowStride };
}
