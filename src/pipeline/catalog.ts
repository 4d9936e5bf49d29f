// The models a user can pick (`fmboost models`): the bundled default and the bundles in the model folders, each
// described from its header alone (no weights are read), with what it offers and its measured quality line.
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openArtifact, type Artifact } from '../artifacts/open.js';
import { offeredScales } from './scale_plan.js';

export interface ModelEntry {
  name: string;
  path: string;
  /** true for the bundled default (what runs without --model). */
  isDefault: boolean;
  /** The factor of one pass, and the overall scales offered (scale_plan.ts). */
  factor: number;
  scales: number[];
  /** Default solver and solver steps. */
  solver: string;
  steps: number;
  parameters: { unet: number; vae: number };
  /** VAE downsampling factor and latent channels, e.g. f4, 8 channels. */
  latent: { factor: number; channels: number };
  megabytes: number;
  /** From the bundle's provenance (`info.quality`), when its export recorded an evaluation. */
  quality?: string;
}

/** Folders searched besides the default model: FMBOOST_MODELS (':'-separated), else none. */
export function modelDirs(): string[] {
  return (process.env.FMBOOST_MODELS ?? '').split(':').filter(Boolean).map((d) => resolve(d));
}

/** A bundle's description from its header, or null when the file is not an fmboost model bundle. */
export function describeBundle(path: string, isDefault = false): ModelEntry | null {
  let head: Artifact;
  try {
    head = openArtifact(path);
  } catch {
    return null;
  }
  const md = head.metadata;
  if (head.kind !== 'bundle') return null;
  try {
    const flow = JSON.parse(md.flow ?? '{}') as { factor?: number; solver?: string; steps?: number };
    const vae = JSON.parse(md.vae ?? '{}') as { chMult?: number[]; embedDim?: number };
    let info: Record<string, unknown> = {};
    try { info = JSON.parse(md.info ?? '{}'); } catch { /* informational */ }
    const count = (prefix: string) => [...head.tensors].filter(([k]) => k.startsWith(prefix)).reduce((a, [, e]) => a + e.shape.reduce((p, d) => p * d, 1), 0);
    const factor = Number(flow.factor ?? 2);
    return {
      name: md.name ?? 'fmboost-cfm', path, isDefault, factor, scales: offeredScales(factor),
      solver: String(flow.solver ?? 'euler'), steps: Number(flow.steps ?? 2) - 1, // bundles store grid points
      parameters: { unet: count('unet.'), vae: count('vae.') },
      latent: { factor: 2 ** Math.max(0, (vae.chMult?.length ?? 1) - 1), channels: Number(vae.embedDim ?? 0) },
      megabytes: statSync(path).size / 2 ** 20,
      ...(typeof info.quality === 'string' ? { quality: info.quality } : {}),
    };
  } catch {
    return null;
  }
}

/** The default model (if installed) and every bundle in `dirs` (one level deep), default first, then by name. */
export function listModels(defaultPath: string, dirs: string[] = modelDirs()): ModelEntry[] {
  const out: ModelEntry[] = [];
  const seen = new Set<string>();
  const add = (p: string, isDefault: boolean) => {
    const abs = resolve(p);
    if (seen.has(abs)) return;
    seen.add(abs);
    const e = describeBundle(abs, isDefault);
    if (e) out.push(e);
  };
  add(defaultPath, true);
  for (const d of dirs) {
    let names: string[];
    try { names = readdirSync(d).sort(); } catch { continue; }
    for (const n of names) {
      const p = join(d, n);
      if (n.endsWith('.safetensors') && statSync(p).isFile()) add(p, false);
    }
  }
  return out;
}
