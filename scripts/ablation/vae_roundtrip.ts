// First-stage ablation metrics on the reported test tiles (one 256² tile per test photo, `_r0c0`): round-trip
// PSNR / SSIM (8-bit outputs, as saved), colour shift (largest per-channel |mean(out) − mean(gt)| in /255, mean
// over images), encode + decode GMAC per megapixel, and measured decode seconds at 1024² (exact tiled decode, the
// pipeline's default). Each argument is a VAE weights file (an autoencoder training checkpoint: its EMA weights),
// or `pca:f,c` — the linear shortcut alone after PCA init on train crops, i.e. step 0 of a shortcut VAE.
//   node dist/scripts/ablation/vae_roundtrip.js logs/abl/f4c8/checkpoints/last.safetensors pca:4,8 --json out.json
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeImage } from '../../src/data/image_codec.js';
import { AutoencoderKL, PatchMoments, pcaInitShortcut, vaeMacs } from '../../src/models/index.js';
import { loadVae } from '../../src/models/load.js';
import { tiledDecode } from '../../src/models/vae/index.js';
import { psnr, ssim } from '../../src/eval/index.js';
import { tensor, noGrad, tidy, randn, setNumThreads, type Tensor } from '../../src/tensor/index.js';

const args = process.argv.slice(2);
const jsonAt = args.indexOf('--json');
const jsonOut = jsonAt >= 0 ? args.splice(jsonAt, 2)[1] : null;
const testDir = 'data/photos/test', trainDir = 'data/photos/train';
setNumThreads(Number(process.env.FMBOOST_THREADS ?? 2));

async function load(dir: string, names: string[]): Promise<Tensor[]> {
  const out: Tensor[] = [];
  for (const n of names) {
    const im = await decodeImage(join(dir, n));
    out.push(tensor(im.data, { shape: [1, 3, im.height, im.width] }));
  }
  return out;
}

const quant = (x: Tensor) => tidy(() => x.clamp(-1, 1).add(1).mul(127.5).round().div(127.5).sub(1));

async function pcaVae(f: number, c: number): Promise<AutoencoderKL> {
  const levels = Math.log2(f) + 1;
  const vae = new AutoencoderKL({ ch: 32, chMult: [1, 2, 4, 4].slice(0, levels), normGroups: 8, zChannels: c, embedDim: c, shortcut: 'linear' });
  const names = readdirSync(trainDir).filter((n) => n.endsWith('.png')).sort().filter((_, i) => i % 3 === 0);
  const m = new PatchMoments(f);
  for (const t of await load(trainDir, names)) { m.add(t); t.dispose(); }
  pcaInitShortcut(vae, m);
  m.dispose();
  vae.eval();
  return vae;
}

const testNames = readdirSync(testDir).filter((n) => n.endsWith('_r0c0.png')).sort();
const gts = await load(testDir, testNames);
const rows: Record<string, unknown>[] = [];
for (const spec of args) {
  const m = spec.match(/^pca:(\d+),(\d+)$/);
  const vae = m ? await pcaVae(Number(m[1]), Number(m[2])) : loadVae(spec);
  const p: number[] = [], s: number[] = [], col: number[] = [];
  noGrad(() => {
    for (const x of gts) {
      tidy(() => {
        const post = vae.encode(x);
        const y = quant(vae.decode(post.mean));
        post.dispose();
        p.push(psnr(y, x));
        s.push(ssim(y, x));
        const d = y.mean([2, 3]).sub(x.mean([2, 3])).abs().mul(127.5).max().item();
        col.push(d);
      });
    }
  });
  const f = vae.downFactor;
  const macs = vaeMacs(vae.config, 1024);
  // Decode time at 1024² output: one warm-up at 256², then the timed 1024² decode.
  const time = noGrad(() => {
    tidy(() => { tiledDecode(vae, randn([1, vae.config.embedDim, 256 / f, 256 / f])); });
    const z = randn([1, vae.config.embedDim, 1024 / f, 1024 / f]);
    const t0 = performance.now();
    tidy(() => { tiledDecode(vae, z); });
    z.dispose();
    return (performance.now() - t0) / 1000;
  });
  const mean = (a: number[]) => a.reduce((u, v) => u + v, 0) / a.length;
  const row = { spec, factor: f, channels: vae.config.embedDim, params: vae.numParameters(), psnr: mean(p), ssim: mean(s), colour255: mean(col),
    gmacPerMP: (macs.encode + macs.decode) / 1e9 / (1024 * 1024 / 1e6), decode1024s: time, images: p.length };
  rows.push(row);
  console.log(`${spec}: f${f}c${vae.config.embedDim} ${row.params.toLocaleString('en-US')} params  PSNR ${row.psnr.toFixed(2)}  SSIM ${row.ssim.toFixed(4)}  colour ${row.colour255.toFixed(2)}/255  ${row.gmacPerMP.toFixed(1)} GMAC/MP  decode 1024² ${time.toFixed(2)} s  (${p.length} tiles)`);
  vae.dispose();
}
for (const g of gts) g.dispose();
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(rows, null, 2) + '\n');
