// Parity against the reference: a fixture (safetensors + JSON sidecar) holds a model's weights, inputs, the
// reference's outputs and (UNet) the gradients of a recorded loss; we rebuild the model, load the weights
// strictly, replay the calls and report the largest errors.
import { existsSync, readFileSync } from 'node:fs';
import { Tensor, Generator, dispose, noGrad, tidy } from '../tensor/index.js';
import { readSafetensors } from '../io/index.js';
import { EfficientUNet } from './unet/index.js';
import { AutoencoderKL } from './vae/index.js';

/**
 * Fixture layout (one safetensors file, keys by prefix):
 *   param.<state_dict key>   weights (loaded strictly: every model key must be present)
 *   input.<name>             UNet: x, t, context (optional), loss_weight (optional); VAE: image, [sample_noise_seed via sidecar]
 *   output / output.<name>   UNet: output (= net(x, t, context)), output.loss (= sum(output · loss_weight));
 *                            VAE: output.mean, output.logvar, output.latent_scaled, output.decoded, output.kl, output.sample
 *   grad.input.x, grad.<key> gradients of output.loss w.r.t. x and each parameter (UNet)
 * Sidecar <fixture>.json: {"model": "EfficientUNet", "config": {...}} or {"model": "AutoencoderKL", "ddconfig": {...},
 * "embed_dim": n, "latent_scale"?: s, "sample_seed"?: seed for output.sample}.
 */
export interface ParityFixture {
  tensors: Map<string, Tensor>;
  sidecar: Record<string, any>;
  /** Where it came from (for the report). */
  source: string;
}

export interface ParityTolerance {
  /** Max |ours − reference| for outputs. */
  outputAtol: number;
  /** Max |ours − reference| / max |reference| for each gradient tensor. */
  gradRtol: number;
}
export const DEFAULT_TOLERANCE: ParityTolerance = { outputAtol: 1e-4, gradRtol: 1e-3 };

/**
 * Some gradients are exactly zero in exact arithmetic, e.g. the bias of a conv followed by a GroupNorm with
 * one channel per group (the norm removes any per-channel constant). Both PyTorch and we then return float32
 * rounding noise (~1e-7 of the model's largest gradient), and "relative to the tensor's own largest value"
 * compares noise with noise. Such tensors (refMax below this fraction of the model's largest reference
 * gradient) are judged relative to that floor instead, and flagged numericallyZero in the report.
 */
export const ZERO_GRAD_FLOOR = 1e-3;

export interface ParityEntry {
  shape: number[];
  maxAbs: number;
  /** Largest |reference| value (gradients are judged relative to it). */
  refMax: number;
  /** Gradients: maxAbs / scale, scale = max(refMax, ZERO_GRAD_FLOOR · largest reference gradient of the model). */
  rel?: number;
  /** Gradients whose reference is numerically zero (refMax below the floor), judged against the floor instead. */
  numericallyZero?: boolean;
  ok: boolean;
}

export interface ParityReport {
  fixture: string;
  model: string;
  params: number;
  tolerance: ParityTolerance;
  outputs: Record<string, ParityEntry>;
  grads: Record<string, ParityEntry>;
  /** The gradient with the largest relative error. */
  worstGrad: { key: string; rel: number } | null;
  ok: boolean;
}

export class ParityFixtureError extends Error {
  override name = 'ParityFixtureError';
}

/** Reads FIXTURE.safetensors and its FIXTURE.json sidecar. */
export function loadParityFixture(path: string): ParityFixture {
  const jsonPath = path.replace(/\.safetensors$/, '') + '.json';
  if (!existsSync(path)) throw new ParityFixtureError(`parity: fixture not found: ${path}`);
  if (!existsSync(jsonPath)) throw new ParityFixtureError(`parity: sidecar not found: ${jsonPath} (it names the model and its config)`);
  let sidecar: Record<string, any>;
  try {
    sidecar = JSON.parse(readFileSync(jsonPath, 'utf8'));
  } catch (e) {
    throw new ParityFixtureError(`parity: ${jsonPath} is not valid JSON: ${(e as Error).message}`);
  }
  return { tensors: readSafetensors(path).tensors, sidecar, source: path };
}

function compare(ours: Tensor, ref: Tensor, relative: boolean, tol: number, name: string, floor = 0): ParityEntry {
  if (ours.shape.join(',') !== ref.shape.join(',')) throw new ParityFixtureError(`parity: ${name}: our shape [${ours.shape.join(', ')}] differs from the reference's [${ref.shape.join(', ')}]`);
  return tidy(() => {
    const r = ref.float();
    const maxAbs = ours.float().sub(r).abs().max().item();
    const refMax = r.abs().max().item();
    if (!relative) return { shape: ref.shape, maxAbs, refMax, ok: maxAbs <= tol };
    const scale = Math.max(refMax, floor);
    const rel = scale > 0 ? maxAbs / scale : maxAbs;
    const e: ParityEntry = { shape: ref.shape, maxAbs, refMax, rel, ok: rel <= tol };
    if (refMax < floor) e.numericallyZero = true;
    return e;
  });
}

function need(f: ParityFixture, key: string): Tensor {
  const t = f.tensors.get(key);
  if (!t) throw new ParityFixtureError(`parity: ${f.source} has no tensor '${key}'`);
  return t;
}

function weights(f: ParityFixture): Map<string, Tensor> {
  const sd = new Map<string, Tensor>();
  for (const [k, v] of f.tensors) if (k.startsWith('param.')) sd.set(k.slice('param.'.length), v);
  if (!sd.size) throw new ParityFixtureError(`parity: ${f.source} has no 'param.*' tensors`);
  return sd;
}

function checkKnown(f: ParityFixture, known: (k: string) => boolean): void {
  const unknown = [...f.tensors.keys()].filter((k) => !k.startsWith('param.') && !known(k));
  if (unknown.length) throw new ParityFixtureError(`parity: ${f.source} has tensors this runner does not know how to check: ${unknown.join(', ')}`);
}

function unetParity(f: ParityFixture, tol: ParityTolerance, report: ParityReport): void {
  const paramKeys = new Set<string>();
  const net = new EfficientUNet(f.sidecar.config ?? {});
  try {
    for (const [k] of net.namedParameters()) paramKeys.add(k);
    checkKnown(f, (k) => ['input.x', 'input.t', 'input.context', 'input.loss_weight', 'output', 'output.loss', 'grad.input.x'].includes(k)
      || (k.startsWith('grad.') && paramKeys.has(k.slice(5))));
    net.loadStateDict(weights(f), { strict: true });
    net.eval();
    report.params = net.numParameters();
    const wantGrads = [...f.tensors.keys()].some((k) => k.startsWith('grad.'));
    tidy(() => {
      const x = need(f, 'input.x').detach();
      if (wantGrads) x.requiresGrad_(true);
      const ctx = f.tensors.get('input.context') ?? null;
      const out = net.forward(x, need(f, 'input.t'), ctx);
      if (f.tensors.has('output')) report.outputs.output = compare(out, need(f, 'output'), false, tol.outputAtol, 'output');
      const lw = f.tensors.get('input.loss_weight');
      if (!lw) {
        if (wantGrads) throw new ParityFixtureError(`parity: ${f.source} has gradients but no input.loss_weight (the loss is sum(output · loss_weight))`);
        return;
      }
      const loss = out.mul(lw).sum();
      if (f.tensors.has('output.loss')) {
        // A sum over every output element: its rounding grows with its size, so the bound scales with |loss|.
        const ref = need(f, 'output.loss').reshape(-1);
        report.outputs['output.loss'] = compare(loss.reshape(-1), ref, false, tol.outputAtol * Math.max(1, Math.abs(ref.select(0, 0).item())), 'output.loss');
      }
      if (!wantGrads) return;
      net.zeroGrad();
      loss.backward();
      const params = new Map(net.namedParameters());
      let largest = 0;
      for (const [k, ref] of f.tensors) if (k.startsWith('grad.')) largest = Math.max(largest, ref.abs().max().item());
      for (const [k, ref] of f.tensors) {
        if (!k.startsWith('grad.')) continue;
        const name = k.slice(5);
        const g = name === 'input.x' ? x.grad : params.get(name)!.grad;
        if (!g) throw new ParityFixtureError(`parity: no gradient reached ${name}`);
        report.grads[name] = compare(g, ref, true, tol.gradRtol, k, ZERO_GRAD_FLOOR * largest);
      }
    });
  } finally {
    net.zeroGrad();
    net.dispose();
  }
}

function vaeParity(f: ParityFixture, tol: ParityTolerance, report: ParityReport): void {
  const known = ['input.image', 'output.mean', 'output.logvar', 'output.latent_scaled', 'output.decoded', 'output.kl', 'output.sample'];
  checkKnown(f, (k) => known.includes(k));
  const { model: _m, calls: _c, params: _p, sample_seed: seed, ...config } = f.sidecar;
  const vae = new AutoencoderKL(config);
  try {
    vae.loadStateDict(weights(f), { strict: true });
    vae.eval();
    report.params = vae.numParameters();
    noGrad(() => tidy(() => {
      const post = vae.encode(need(f, 'input.image'));
      try {
        const ours: Record<string, () => Tensor> = {
          'output.mean': () => post.mean,
          'output.logvar': () => post.logvar,
          'output.latent_scaled': () => post.mode().mul(vae.scaleFactor),
          'output.decoded': () => vae.decode(post.mode()),
          'output.kl': () => post.kl(),
          'output.sample': () => {
            if (typeof seed !== 'number') throw new ParityFixtureError(`parity: ${f.source} has output.sample but its sidecar has no numeric sample_seed`);
            return post.sample(new Generator(seed));
          },
        };
        for (const key of known.slice(1)) {
          const ref = f.tensors.get(key);
          if (ref) report.outputs[key.slice('output.'.length)] = compare(ours[key](), ref, false, tol.outputAtol, key);
        }
      } finally {
        post.dispose();
      }
    }));
  } finally {
    vae.dispose();
  }
}

/** Rebuilds the fixture's model, replays the recorded calls, and compares. Does not throw on mismatch: see report.ok. */
export function runParity(fixture: string | ParityFixture, tolerance: Partial<ParityTolerance> = {}): ParityReport {
  const f = typeof fixture === 'string' ? loadParityFixture(fixture) : fixture;
  const tol = { ...DEFAULT_TOLERANCE, ...tolerance };
  const model = String(f.sidecar.model ?? '');
  const report: ParityReport = { fixture: f.source, model, params: 0, tolerance: tol, outputs: {}, grads: {}, worstGrad: null, ok: false };
  try {
    if (model === 'EfficientUNet') unetParity(f, tol, report);
    else if (model === 'AutoencoderKL') vaeParity(f, tol, report);
    else throw new ParityFixtureError(`parity: sidecar model must be 'EfficientUNet' or 'AutoencoderKL', got ${JSON.stringify(f.sidecar.model)}`);
  } finally {
    if (typeof fixture === 'string') dispose(f.tensors);
  }
  for (const [key, e] of Object.entries(report.grads)) if (!report.worstGrad || (e.rel ?? 0) > report.worstGrad.rel) report.worstGrad = { key, rel: e.rel ?? 0 };
  const entries = [...Object.values(report.outputs), ...Object.values(report.grads)];
  report.ok = entries.length > 0 && entries.every((e) => e.ok);
  return report;
}
