// defineKernel: one WGSL file -> a kernel description whose uniform `struct Params` layout and
// binding list are parsed from the shader text itself, so the TS side cannot drift from the WGSL.
// The only text substitution is the dtype header: `alias T` (activation storage) and `alias W`
// (weight storage), each f32 or f16, plus the `enable` directives they need.
import type { DType } from './tensor.js';

export type ParamType = 'u32' | 'i32' | 'f32';
export interface ParamField { name: string; type: ParamType }
export interface BindingInfo { name: string; binding: number; kind: 'uniform' | 'read' | 'read_write' }

export interface KernelSpec {
  name: string;
  source: string;
  /** default values of `override` constants (workgroup and tile sizes) */
  overrides?: Record<string, number>;
}

export interface Kernel {
  readonly name: string;
  readonly source: string;
  readonly params: readonly ParamField[];
  /** byte size of the Params uniform (scalars only, 4 bytes each, padded to 16) */
  readonly paramBytes: number;
  readonly bindings: readonly BindingInfo[];
  readonly overrides: Readonly<Record<string, number>>;
  /** extensions the file enables itself (e.g. `subgroups`) */
  readonly enables: readonly string[];
}

/** Storage types of one kernel instantiation: T for activations, W for weights. */
export interface KernelTypes { T: DType; W: DType }

const STRUCT_RE = /struct\s+Params\s*\{([^}]*)\}/;
const FIELD_RE = /(\w+)\s*:\s*(u32|i32|f32)\b/g;
const BINDING_RE = /@group\(0\)\s*@binding\((\d+)\)\s*var<(storage|uniform)(?:\s*,\s*(read|read_write))?>\s*(\w+)/g;
const ENABLE_RE = /^\s*enable\s+([\w,\s]+);\s*$/gm;

export function defineKernel(spec: KernelSpec): Kernel {
  const { name, source } = spec;
  const params: ParamField[] = [];
  const struct = STRUCT_RE.exec(source);
  if (struct) {
    for (const m of struct[1].matchAll(FIELD_RE)) params.push({ name: m[1], type: m[2] as ParamType });
    const declared = struct[1].split(/[,\n]/).map((s) => s.replace(/\/\/.*$/, '').trim()).filter(Boolean);
    if (declared.length !== params.length) {
      throw new Error(`kernel ${name}: struct Params may only hold u32/i32/f32 scalars (got: ${declared.join('; ')})`);
    }
  }
  const bindings: BindingInfo[] = [];
  for (const m of source.matchAll(BINDING_RE)) {
    const kind = m[2] === 'uniform' ? 'uniform' : ((m[3] ?? 'read') as 'read' | 'read_write');
    bindings.push({ name: m[4], binding: Number(m[1]), kind });
  }
  bindings.sort((a, b) => a.binding - b.binding);
  bindings.forEach((b, i) => {
    if (b.binding !== i) throw new Error(`kernel ${name}: bindings must be numbered 0..n-1 without gaps`);
  });
  const uniforms = bindings.filter((b) => b.kind === 'uniform');
  if (uniforms.length > 1 || (uniforms.length === 1 && (uniforms[0].binding !== 0 || !struct))) {
    throw new Error(`kernel ${name}: the only uniform must be 'p: Params' at binding 0`);
  }
  const enables = [...source.matchAll(ENABLE_RE)].flatMap((m) => m[1].split(',').map((s) => s.trim()));
  return {
    name,
    source: source.replace(ENABLE_RE, ''),
    params,
    paramBytes: Math.ceil((params.length * 4) / 16) * 16,
    bindings,
    overrides: spec.overrides ?? {},
    enables,
  };
}

/** The exact WGSL text compiled for one instantiation. */
export function kernelSource(k: Kernel, types: KernelTypes): string {
  const enables = new Set(k.enables);
  if (types.T === 'f16' || types.W === 'f16') enables.add('f16');
  let header = '';
  for (const e of enables) header += `enable ${e};\n`;
  header += `alias T = ${types.T};\nalias W = ${types.W};\n`;
  return header + k.source;
}

export function pipelineKey(k: Kernel, types: KernelTypes, overrides: Record<string, number>): string {
  const o = Object.keys(overrides).sort().map((key) => `${key}=${overrides[key]}`).join(',');
  return `${k.name}|${types.T}|${types.W}|${o}`;
}

/** Packs a params object into the uniform layout; every field must be present and finite. */
export function packParams(k: Kernel, values: Record<string, number>, out: DataView, offset: number): void {
  for (let i = 0; i < k.params.length; i++) {
    const f = k.params[i];
    const v = values[f.name];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new Error(`kernel ${k.name}: param '${f.name}' missing or not finite (${v})`);
    }
    const at = offset + 4 * i;
    if (f.type === 'f32') out.setFloat32(at, v, true);
    else if (f.type === 'u32') {
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`kernel ${k.name}: param '${f.name}'=${v} is not a u32`);
      out.setUint32(at, v, true);
    } else {
      if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw new Error(`kernel ${k.name}: param '${f.name}'=${v} is not an i32`);
      out.setInt32(at, v, true);
    }
  }
  for (const key of Object.keys(values)) {
    if (!k.params.some((f) => f.name === key)) throw new Error(`kernel ${k.name}: unknown param '${key}'`);
  }
}
