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

/** Rows per invocation of the register-blocked contraction kernels (patch_embed*, gram*). */
export const BLOCK_ROWS = 8;

/**
 * Overrides and workgroup grid of a register-blocked kernel with `rows` x `cols` outputs per batch
 * item: R rows x 4 columns per invocation, WG invocations along the columns (fewer for narrow
 * outputs, so small problems do not idle most of a workgroup).
 */
export function blockedDispatch(rows: number, cols: number, batch = 1): { overrides: { R: number; WG: number }; workgroups: [number, number, number] } {
  const WG = Math.min(64, Math.max(8, 2 ** Math.ceil(Math.log2(Math.ceil(cols / 4)))));
  return { overrides: { R: BLOCK_ROWS, WG }, workgroups: [Math.ceil(cols / (4 * WG)), Math.ceil(rows / BLOCK_ROWS), batch] };
}
