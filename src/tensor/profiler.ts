// Where the time goes, by op: libtorch's RecordFunction hooks (native/src/profiler.cc) time every ATen op
// and every backward node while on. Self time = an op's time minus the ops it called, so the rows add up
// to the time spent inside libtorch; the rest of the wall time is ours (JS, N-API crossings, allocation
// of handles), shown as its own row. Ops are grouped into classes (conv, matmul, norm, …) because a
// single conv runs as several nested ATen ops (conv2d → convolution → mkldnn_convolution).
import { native } from './native.js';

export const OP_CLASSES = ['conv', 'matmul', 'attention', 'norm', 'activation', 'resample', 'layout/copy', 'elementwise', 'reduction', 'optimizer', 'other'] as const;
export type OpClass = (typeof OP_CLASSES)[number];

// Matched against the op's base name: lower case, without 'aten::', leading underscores and a 'Backward0' /
// '_backward' / '_out' / in-place '_' suffix (so 'aten::silu_', 'SiluBackward0' and 'silu_backward' are all 'silu').
const PREFIX: [RegExp, OpClass][] = [
  [/^(mkldnn_|thnn_|slow_)?conv|^convolution|^cudnn_conv/, 'conv'],
  [/^(softmax|log_softmax|scaled_dot_product|flash_attention|efficient_attention|baddbmm|bmm)/, 'attention'],
  [/^(group_norm|native_group_norm|layer_norm|native_layer_norm|batch_norm|native_batch_norm)/, 'norm'],
  [/^(upsample|interpolate|avg_pool|adaptive_avg_pool|max_pool|pixel_shuffle|pixel_unshuffle|grid_sampler)/, 'resample'],
];
const named = (cls: OpClass, names: string[]) => names.map((n) => [n, cls] as [string, OpClass]);
const EXACT = new Map<string, OpClass>([
  ...named('matmul', ['mm', 'addmm', 'matmul', 'linear', 'dot', 'mv', 'addmv', 'einsum']),
  ...named('activation', ['silu', 'gelu', 'sigmoid', 'relu', 'tanh', 'hardswish', 'mish', 'softplus', 'elu', 'leaky_relu']),
  ...named('layout/copy', ['copy', 'contiguous', 'clone', 'to_copy', 'to', 'cat', 'stack', 'empty', 'empty_like', 'empty_strided', 'zeros', 'zeros_like', 'ones',
    'ones_like', 'fill', 'zero', 'permute', 'transpose', 'view', 'reshape', 'expand', 'slice', 'select', 'narrow', 'chunk', 'split', 'split_with_sizes', 'squeeze',
    'unsqueeze', 'as_strided', 'alias', 'detach', 'resize', 'set', 't', 'flatten', 'unbind', 'index', 'index_select', 'unsafe_view', 'reshape_alias', 'view_as',
    'expand_as', 'repeat', 'flip', 'constant_pad_nd', 'pad', 'to_dense', 'mkldnn_reorder_conv2d_weight', 'to_mkldnn', 'accumulate_grad', 'unsafe_split', 'copy_from']),
  ...named('optimizer', ['addcdiv', 'addcmul', 'lerp', 'maximum', 'foreach_add', 'foreach_mul', 'foreach_addcdiv', 'foreach_addcmul', 'foreach_lerp', 'foreach_sqrt', 'foreach_div']),
  ...named('reduction', ['sum', 'mean', 'norm', 'linalg_vector_norm', 'max', 'min', 'amax', 'amin', 'std', 'var', 'var_mean', 'std_mean', 'prod', 'all', 'any',
    'argmax', 'argmin', 'item', 'local_scalar_dense']),
  ...named('elementwise', ['add', 'sub', 'rsub', 'mul', 'div', 'neg', 'pow', 'exp', 'log', 'sqrt', 'rsqrt', 'abs', 'clamp', 'clamp_min', 'clamp_max', 'where', 'sin',
    'cos', 'reciprocal', 'square', 'masked_fill', 'ge', 'gt', 'le', 'lt', 'eq', 'ne', 'floor', 'round', 'sign', 'mse_loss', 'l1_loss', 'arange', 'rand', 'randn',
    'normal', 'uniform', 'bernoulli', 'dropout', 'exp2', 'expm1', 'log1p', 'threshold']),
]);

/** An op name reduced to its base: 'aten::silu_' → 'silu', 'backward: SiluBackward0' → 'silu', 'aten::_to_copy' → 'to_copy'. */
function baseName(name: string): string {
  let n = name.replace(/^backward: /, '').replace(/^autograd::engine::evaluate_function: /, '').replace(/^(aten|torch::autograd|fmboost)::/, '');
  n = n.replace(/Backward\d*$/, '');
  // CamelCase node names (NativeGroupNormBackward0 → native_group_norm)
  if (/^[A-Z]/.test(n)) n = n.replace(/([a-z0-9])([A-Z])/g, '$1_$2');
  return n.toLowerCase().replace(/^_+/, '').replace(/(_backward|_out|_forward)$/, '').replace(/_$/, '');
}

/** The class of an op name as the profiler reports it ('aten::silu', 'backward: SiluBackward0'). */
export function opClass(name: string): OpClass {
  const n = baseName(name);
  const exact = EXACT.get(n);
  if (exact) return exact;
  for (const [re, c] of PREFIX) if (re.test(n)) return c;
  return 'other';
}

export interface OpRow {
  name: string;
  cls: OpClass;
  calls: number;
  /** Time in this op itself, not in the ops it called. */
  selfMs: number;
  /** Time of its outermost calls, with what they called. */
  totalMs: number;
}

/** One profiled stretch of work. */
export class OpProfile {
  constructor(readonly rows: OpRow[], readonly wallMs: number, readonly label = 'profile') {}

  /** Milliseconds inside libtorch (the sum of self times). */
  get torchMs(): number { return this.rows.reduce((a, r) => a + r.selfMs, 0); }
  /** Wall time outside every op: JS, N-API crossings, the event loop. */
  get outsideMs(): number { return Math.max(0, this.wallMs - this.torchMs); }

  /** Self time per class, largest first, with 'outside ops' last. */
  byClass(): { cls: OpClass | 'outside ops (JS, N-API)'; ms: number; calls: number; share: number }[] {
    const m = new Map<OpClass, { ms: number; calls: number }>();
    for (const r of this.rows) {
      const e = m.get(r.cls) ?? { ms: 0, calls: 0 };
      e.ms += r.selfMs; e.calls += r.calls;
      m.set(r.cls, e);
    }
    const wall = this.wallMs || 1;
    const out: ReturnType<OpProfile['byClass']> = [...m].map(([cls, e]) => ({ cls, ms: e.ms, calls: e.calls, share: e.ms / wall })).sort((a, b) => b.ms - a.ms);
    out.push({ cls: 'outside ops (JS, N-API)', ms: this.outsideMs, calls: 0, share: this.outsideMs / wall });
    return out;
  }

  /** The `n` ops with the most self time. */
  top(n = 15): OpRow[] {
    return [...this.rows].sort((a, b) => b.selfMs - a.selfMs).slice(0, n);
  }

  /** A plain-text report: time by class, then the top ops (divide by `per` for per-step or per-image figures). */
  format(opts: { top?: number; per?: number; perLabel?: string } = {}): string {
    const per = opts.per ?? 1, unit = per === 1 ? 'ms' : `ms/${opts.perLabel ?? 'call'}`;
    const f = (ms: number) => (ms / per).toFixed(ms / per >= 100 ? 0 : 1);
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    const lines = [`${this.label}: ${f(this.wallMs)} ${unit} wall, ${f(this.torchMs)} in libtorch ops, ${f(this.outsideMs)} outside`, '', `  ${'class'.padEnd(26)} ${unit.padStart(10)}  share   calls`];
    for (const c of this.byClass()) lines.push(`  ${c.cls.padEnd(26)} ${f(c.ms).padStart(10)}  ${pct(c.share).padStart(6)}  ${c.calls ? String(Math.round(c.calls / per)).padStart(6) : ''}`);
    lines.push('', `  ${'op (self time)'.padEnd(52)} ${unit.padStart(10)}  share   calls`);
    for (const r of this.top(opts.top ?? 15)) lines.push(`  ${r.name.slice(0, 52).padEnd(52)} ${f(r.selfMs).padStart(10)}  ${pct(r.selfMs / (this.wallMs || 1)).padStart(6)}  ${String(Math.round(r.calls / per)).padStart(6)}`);
    return lines.join('\n');
  }

  toJSON(): { label: string; wallMs: number; torchMs: number; byClass: ReturnType<OpProfile['byClass']>; rows: OpRow[] } {
    return { label: this.label, wallMs: this.wallMs, torchMs: this.torchMs, byClass: this.byClass(), rows: this.top(this.rows.length) };
  }
}

let startedAt: number | undefined;

/** Starts recording every op (one profile at a time: a second start is an error). */
export function startOpProfile(): void {
  native.profilerStart();
  startedAt = performance.now();
}

/** Stops recording and returns what ran since startOpProfile(). */
export function stopOpProfile(label?: string): OpProfile {
  const raw = native.profilerStop();
  const wallMs = startedAt === undefined ? 0 : performance.now() - startedAt;
  startedAt = undefined;
  return new OpProfile(raw.map(([name, calls, selfUs, totalUs]) => ({ name, cls: opClass(name), calls, selfMs: selfUs / 1000, totalMs: totalUs / 1000 })), wallMs, label);
}

/** Runs `fn` with the profiler on and returns its result with the profile (the profiler stops on a throw too). */
export async function profileOps<T>(fn: () => T | Promise<T>, label?: string): Promise<{ result: T; profile: OpProfile }> {
  startOpProfile();
  let profile: OpProfile | undefined;
  try {
    const result = await fn();
    profile = stopOpProfile(label);
    return { result, profile };
  } finally {
    if (!profile && native.profilerActive()) stopOpProfile(label);
  }
}
