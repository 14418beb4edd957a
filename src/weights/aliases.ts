// Renames applied to diffusers-folder weights before any module sees them.
// VAE attention: diffusers < 0.14 saved the mid-block AttentionBlock as query/key/value/proj_attn
// (the SD 1.4 hub VAE still has these names); current diffusers calls them to_q/to_k/to_v/to_out.0
// (diffusers models/modeling_utils.py::_convert_deprecated_attention_blocks). The CompVis layout
// stores the same projections as 1x1 convs, [C, C, 1, 1]; the model reads them as Linear [C, C].

const LEGACY_VAE_ATTENTION: Readonly<Record<string, string>> = {
  query: 'to_q', key: 'to_k', value: 'to_v', proj_attn: 'to_out.0',
};

const LEGACY_RE = /^((?:encoder|decoder)\.mid_block\.attentions\.\d+\.)(query|key|value|proj_attn)\.(weight|bias)$/;
const VAE_PROJ_RE = /^(?:encoder|decoder)\.mid_block\.attentions\.\d+\.(?:to_q|to_k|to_v|to_out\.0)\.weight$/;

/** VAE key with legacy attention names -> current diffusers name; other keys unchanged. */
export function renameLegacyVaeKey(key: string): string {
  const m = LEGACY_RE.exec(key);
  return m ? `${m[1]}${LEGACY_VAE_ATTENTION[m[2]!]}.${m[3]}` : key;
}

/** The view shape of a VAE tensor: attention projections [C, C, 1, 1] are read as [C, C]. */
export function vaeViewShape(key: string, shape: readonly number[]): readonly number[] {
  if (VAE_PROJ_RE.test(key) && shape.length === 4 && shape[2] === 1 && shape[3] === 1) return [shape[0]!, shape[1]!];
  return shape;
}

/** The inverse, for writing CompVis files: [C, C] -> [C, C, 1, 1]. */
export function vaeConvShape(key: string, shape: readonly number[]): readonly number[] {
  if (VAE_PROJ_RE.test(key) && shape.length === 2) return [shape[0]!, shape[1]!, 1, 1];
  return shape;
}
