// The toy eps-model and fixture access shared by the diffusion tests. The model is the one in
// scripts/goldens/diffusion_samplers.py, op for op: eps = (0.2 + 0.0008·t)·x + 0.1·sin(x) [+ 0.1·c·tanh(x)].
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors, type Tensor } from '../../src/tensor_library.js';
import { ROOT } from '../helpers.js';

export const FIXTURES = join(ROOT, 'tests', 'fixtures', 'diffusion');

export function toyEps(x: Tensor, t: Tensor, c?: Tensor): Tensor {
  const n = x.shape[0];
  let eps = t.reshape(n, 1, 1, 1).mul(0.0008).add(0.2).mul(x).add(x.sin().mul(0.1));
  if (c) eps = eps.add(c.reshape(n, c.shape[1], 1, 1).mul(0.1).mul(x.tanh()));
  return eps;
}

/** The tensors of tests/fixtures/diffusion/<name>.safetensors (the caller disposes them). */
export function fixture(name: string): Map<string, Tensor> {
  return readSafetensors(join(FIXTURES, `${name}.safetensors`)).tensors;
}

export interface Cases {
  references: Record<string, string>;
  ddim: { name: string; steps: number; eta: number; seed: number; guidance_scale: number; discretize: 'uniform' | 'quad'; timesteps: number[]; draws: number }[];
  euler: { name: string; steps: number; sampler: 'euler' | 'euler_ancestral'; sigmas: 'discrete' | 'karras'; seed: number; draws: number }[];
  lcm: { name: string; steps: number; original_inference_steps: number; seed: number; timesteps: number[]; draws: number }[];
}

export function cases(): Cases {
  return JSON.parse(readFileSync(join(FIXTURES, 'cases.json'), 'utf8')) as Cases;
}

/** Largest |a − b|, max |b| and their ratio. */
export function errors(a: ArrayLike<number>, b: ArrayLike<number>): { maxAbs: number; rel: number; refMax: number } {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let m = 0, r = 0;
  for (let i = 0; i < a.length; i++) {
    m = Math.max(m, Math.abs(a[i] - b[i]));
    r = Math.max(r, Math.abs(b[i]));
  }
  return { maxAbs: m, rel: r > 0 ? m / r : m, refMax: r };
}

/** Largest |a − b|/|b| elementwise (b ≠ 0). */
export function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, b[i] === 0 ? Math.abs(a[i]) : Math.abs(a[i] - b[i]) / Math.abs(b[i]));
  return m;
}

export const values = (t: Tensor): number[] => Array.from(t.dtype === 'float64' ? (t.data() as Float64Array) : t.toFloat32Array());
