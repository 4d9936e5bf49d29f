// The bundled base model's quality note: N samples (seeds 0…N−1) at its 64² resolution and boosted 4× by the
// bundled CFM, each set's SWD×1e3 against the N test tiles (_r0c0, the eval's split) at the same size, with a
// real-against-real floor (N training tiles) and the plain bicubic ×4 of the same samples; and a labelled grid.
//   node dist/scripts/docs/base_samples.js [--base B] [--model CFM] [--n 46] [--out docs/eval/base] [--steps S --sampler NAME]
//   [--no-boost]: the base's SWD only (to compare sampler settings; writes nothing)
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { F, tidy, type Tensor } from '../../src/tensor/index.js';
import { readImage, degrade } from '../../src/data/index.js';
import { SwdSet, swd } from '../../src/metrics/index.js';
import { OwnBase, Upsampler, defaultBasePath } from '../../src/pipeline/index.js';
import { labelledGrid } from '../../src/eval/report.js';

const { values: a } = parseArgs({ options: { base: { type: 'string' }, model: { type: 'string' }, n: { type: 'string', default: '46' }, out: { type: 'string', default: 'docs/eval/base' }, grid: { type: 'string', default: '8' }, steps: { type: 'string' }, sampler: { type: 'string' }, 'no-boost': { type: 'boolean' } } });
const sampling = { ...(a.steps && { steps: Number(a.steps) }), ...(a.sampler && { sampler: a.sampler }) };
const N = Number(a.n), G = Number(a.grid);
const tiles = (dir: string) => readdirSync(dir).filter((f) => f.includes('_r0c0') && f.endsWith('.png')).sort().slice(0, N).map((f) => join(dir, f));

async function set(files: string[], size: number): Promise<SwdSet> {
  const s = new SwdSet();
  for (const [i, f] of files.entries()) {
    const x = await readImage(f);
    tidy(() => s.add(x.shape[1] === size ? x : degrade(x, [size, size], 'bicubic_aa'), i));
    x.dispose();
  }
  return s;
}

const t0 = performance.now();
const test = tiles('data/photos/test'), train = tiles('data/photos/train');
if (test.length < N || train.length < N) throw new Error(`need ${N} _r0c0 tiles in data/photos/test and train (bash scripts/data/assemble.sh)`);
const ref = { 64: await set(test, 64), 256: await set(test, 256) };
const floor = { 64: await set(train, 64), 256: await set(train, 256) };
const base = OwnBase.load(a.base ?? defaultBasePath());
const up = a['no-boost'] ? null : await Upsampler.load(a.model ? { model: a.model } : {});
const got = { base: new SwdSet(), bicubic: new SwdSet(), boosted: new SwdSet() };
const rows: Tensor[][] = [];
try {
  for (let i = 0; i < N; i++) {
    const z = await base.sample({ seed: i, ...sampling });
    const img = base.decode(z);
    z.dispose();
    if (!up) {
      tidy(() => got.base.add(img.squeeze(0), i));
      img.dispose();
      continue;
    }
    const r = await up.upsampleImage(img.squeeze(0), { seed: i });
    const bic = tidy(() => F.interpolate(img, { size: [256, 256], mode: 'bicubic', alignCorners: false }).clamp(-1, 1).squeeze(0));
    tidy(() => { got.base.add(img.squeeze(0), i); got.bicubic.add(bic, i); got.boosted.add(r.image, i); });
    if (rows.length < G) rows.push([tidy(() => F.interpolate(img, { size: [256, 256], mode: 'nearest' }).squeeze(0)), bic, r.image.clone()]);
    else bic.dispose();
    img.dispose();
    r.dispose();
    process.stderr.write(`\rsample ${i + 1}/${N}`);
  }
} finally {
  base.dispose();
  up?.dispose();
}
if (!up) {
  process.stdout.write(`${swd(ref[64], got.base).swd.toFixed(1)}  base samples 64² vs test tiles 64² (${JSON.stringify(sampling)})\n`);
  process.exit(0);
}
const res = {
  n: N,
  base: base.name,
  cfm: up.modelName,
  sampling: { solver: sampling.sampler ?? base.spec.solver, steps: sampling.steps ?? base.spec.steps },
  'swd_x1e3': {
    'base samples 64² vs test tiles 64²': swd(ref[64], got.base).swd,
    'training tiles 64² vs test tiles 64² (real-against-real floor)': swd(ref[64], floor[64]).swd,
    'boosted 256² (CFM, 4×) vs test tiles 256²': swd(ref[256], got.boosted).swd,
    'bicubic ×4 of the samples vs test tiles 256²': swd(ref[256], got.bicubic).swd,
    'training tiles 256² vs test tiles 256² (real-against-real floor)': swd(ref[256], floor[256]).swd,
  },
  seconds: (performance.now() - t0) / 1000,
};
mkdirSync(a.out!, { recursive: true });
writeFileSync(join(a.out!, 'swd.json'), JSON.stringify(res, null, 1) + '\n');
writeFileSync(join(a.out!, 'samples.png'), await labelledGrid(rows, ['base 64² (nearest ×4)', 'bicubic ×4', 'boosted by the CFM']));
for (const r of rows) for (const t of r) t.dispose();
process.stderr.write('\n');
for (const [k, v] of Object.entries(res.swd_x1e3)) process.stdout.write(`${v.toFixed(1).padStart(7)}  ${k}\n`);
